/**
 * The `cloison` part's folders are made by the manager, as root, and given to the part's account.
 * A link planted at their name (an administrator's typo, a folder of a less trusted owner on the
 * way) must not make root give the link's target away: the manager refuses to start, the target
 * keeps its owner and mode, and nothing listens.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const REPO = resolve(__dirname, '..', '..');

describe('the part\'s folders made by the manager', () => {
  const root = testRoot('cloison-pf-');

  it('a link at the part\'s state folder: the manager refuses to start, the link\'s target stays root\'s', () => {
    chmodSync(root, 0o711);
    writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: 58544 }), high: bwrapCage({ uid: 58545 }) }));
    const victim = join(root, 'victim');
    mkdirSync(victim, { mode: 0o700 });
    symlinkSync(victim, join(root, 'state-broker'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run')], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    console.log(`manager with a link at its part's state folder: status ${run.status}, ${run.stderr.trim().split('\n').pop()}`);
    expect([statSync(victim).uid, statSync(victim).mode & 0o777]).toEqual([0, 0o700]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('is not a folder');
    expect(run.stdout).toBe(''); // it never listened
    expect(existsSync(join(root, 'run', 'cage-manager.sock'))).toBe(false);
  }, 90_000);
});
