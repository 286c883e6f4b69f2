/**
 * Attack (#29, review of the manager's own start of the cages): an administrator's reload that lands
 * while the manager is still starting a level's cage itself (`startEarly`, before its part asks).
 *
 * 'hole: uid' — the reload gives the level `high` another uid: the part (reading the new policy) asks
 * cage.start of high with the new uid, driverFor checks the REQUEST against the policy now, then
 * takeEarly hands it the cage the manager started from the OLD policy (only its innerPid compared,
 * not its definition, as adoption does): high runs under a uid the running policy no longer gives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xvncPidsOf } from '../../testing/cageProcesses';
import { testRoot } from '../../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { logRecords } from '../../testing/logRecords';

const REPO = resolve(__dirname, '../../..');
const UIDS = { low: 62953, high: 62954, highAfter: 62955 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });
/** The same policy, high under another uid. */
const HIGH_MOVED = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.highAfter }) });

let root: string;
let manager: ChildProcess;
let stderr = '';
const lines: Array<Record<string, unknown>> = [];
const logged = () => logRecords(stderr);
const said = (msg: string, level?: string) => logged().some((l) => l.msg === msg && (level === undefined || l.level === level));

beforeAll(async () => {
  if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  root = testRoot('cloison-early-uid-');
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), POLICY);
  const argv = [join(REPO, 'out/supervisor/cageManager.js'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'info'];
  manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let reloaded = false;
  manager.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    // The administrator's reload, as soon as the manager says it starts high itself.
    if (!reloaded && said('cage started before the part asks', 'high')) {
      reloaded = true;
      writeFileSync(join(root, 'p.yaml'), HIGH_MOVED);
      manager.kill('SIGHUP');
    }
  });
  createInterface({ input: manager.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  await waitFor(() => lines.some((l) => l.ready === true) || manager.exitCode !== null, 'the part\'s ready line', 120_000, 100).catch(() => undefined);
  if (!lines.some((l) => l.ready === true)) throw new Error(`the part never said ready: ${stderr.slice(-6000)}`);
  await waitFor(() => said('policy reloaded'), 'the reload', 60_000, 100);
}, 200_000);

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
}, 90_000);

describe('a reload during the manager\'s own start of the cages', () => {
  it('the part\'s cage.start under the new uid does not take the cage started under the old one: that one is stopped, a fresh one runs under the new uid (seen before: the old uid\'s cage handed over)', async () => {
    expect(logged().find((l) => l.msg === 'policy reloaded')?.levels).toEqual(['low', 'high']);
    expect(said('the part\'s cage.start takes the cage the manager started', 'high')).toBe(false);
    const ready = lines.find((l) => l.ready === true)!.cages as Array<{ level: string; status: string }>;
    expect(ready.find((c) => c.level === 'high')?.status).toBe('running');
    await waitFor(() => xvncPidsOf(UIDS.high).length === 0, 'no Xvnc under high\'s old uid', 30_000, 100);
    expect(xvncPidsOf(UIDS.highAfter)).toHaveLength(1);
  });
});
