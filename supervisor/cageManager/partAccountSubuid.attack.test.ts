/**
 * Attack (attack-8): a local user whose subordinate uid range covers the `cloison` account the
 * manager runs its part as. The part holds what crosses between levels (the staging area, the
 * scanner's and converters' inputs), its journal and keys, and serves the shell; a holder of a
 * subuid/subgid grant over its uid maps it into a user namespace of hers (newuidmap, setuid root)
 * and is then that kernel uid: she signals the part (SIGSTOP: every level's clipboard, files and
 * screen frozen) and owns its files wherever she can reach them. The policy's cage and card proxy
 * uids are now refused under such a grant (policy/cageUidSubuid.attack.test.ts); the part's own
 * account was never checked, and the manager started its part as it.
 *
 * Here: the built manager (no bwrap cage: two vnc levels), in a mount namespace of the test's own
 * whose /etc is a copy of the host's with `alice:<cloison's uid>:1` in subuid and subgid (the host
 * has no /etc/subuid to bind over). The control: the same manager without the grant starts its part
 * (its "listening" line with the shell's socket).
 *
 * What the administrator should see: the manager refusing to start, naming the grant.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBuiltManager, type BuiltManager } from '../testing/builtManager';
import { account } from '../system/accounts';
import { findBinary } from '../system/binaries';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';

const cloison = account('cloison');
const ready = process.getuid?.() === 0 && cloison !== null && ['unshare', 'mount', 'cp'].every((b) => findBinary(b));

let manager: BuiltManager | null = null;
afterEach(async () => {
  await manager?.stop();
  manager = null;
}, 60_000);
afterAll(() => removeTestRoots());

/** The manager in a namespace whose /etc is `etc`: its part's "listening" line, or how it ended. */
async function startWith(root: string, etc: string): Promise<{ partListening: boolean; exit: number | null; stderr: string }> {
  const run = join(root, `run-${Math.random().toString(36).slice(2, 8)}`);
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: vncCage(join(root, 'none-low.sock')), high: vncCage(join(root, 'none-high.sock')) }));
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', run, '--port', '0', '--log-level', 'warn'], [
    'unshare', '-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$0" /etc && exec "$@"', etc,
  ]);
  const line = await manager.untilLine((l) => l.listening === true && typeof l.rpcSocket === 'string', "the part's listening line", 90_000).catch(() => null);
  if (line === null) await new Promise((r) => (manager!.process.exitCode !== null ? r(null) : manager!.process.once('exit', r)));
  return { partListening: line !== null, exit: manager.process.exitCode, stderr: manager.stderr() };
}

describe.skipIf(!ready)("a subuid grant over the cloison part's account", () => {
  it('keeps the manager from starting its part as that account, naming the grant', async () => {
    const root = testRoot('cloison-pas-');
    chmodSync(root, 0o711);
    const etc = join(root, 'etc');
    const copied = spawnSync('cp', ['-a', '/etc', etc], { encoding: 'utf8' });
    expect(copied.status, copied.stderr).toBe(0);

    // The control: no grant, the part starts.
    const clean = await startWith(root, etc);
    expect(clean.partListening, clean.stderr).toBe(true);
    await manager!.stop();
    manager = null;

    // The attack: Alice's grant over the part's uid and gid.
    appendFileSync(join(etc, 'subuid'), `alice:${cloison!.uid}:1\n`);
    appendFileSync(join(etc, 'subgid'), `alice:${cloison!.gid}:1\n`);
    const granted = await startWith(root, etc);
    console.log(`with alice's grant over cloison (uid ${cloison!.uid}): ${granted.partListening ? 'the part started as it' : `the manager ended (${granted.exit}): ${granted.stderr.trim().split('\n').at(-1)}`}`);
    expect(granted.partListening, 'the part started as a uid a subuid grant holds').toBe(false);
    expect(granted.stderr).toMatch(new RegExp(`alice:${cloison!.uid}:1`));
  }, 240_000);
});
