/**
 * Attack (#29, review of the manager's own start of the cages): an administrator's reload that lands
 * while the manager is still starting a level's cage itself (`startEarly`, before its part asks).
 *
 * 'hole: dropped' — the reload drops the level `high`: applyPolicy stops only the dropped levels'
 * RUNNING cages (cages.cage(level)), and a start under way is 'starting', not running, so nothing is
 * stopped; the early start then finishes and the cage of a level the running policy no longer names
 * keeps running (its Xvnc under its uid), held for a part that can never take it.
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
const UIDS = { low: 62951, high: 62952 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });
/** The same policy without the level high. */
const ONLY_LOW = POLICY.slice(0, POLICY.indexOf('  - id: high'));

let root: string;
let manager: ChildProcess;
let stderr = '';
const lines: Array<Record<string, unknown>> = [];
const logged = () => logRecords(stderr);
const said = (msg: string, level?: string) => logged().some((l) => l.msg === msg && (level === undefined || l.level === level));

beforeAll(async () => {
  if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  root = testRoot('cloison-early-reload-');
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
      writeFileSync(join(root, 'p.yaml'), ONLY_LOW);
      manager.kill('SIGHUP');
    }
  });
  createInterface({ input: manager.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  await waitFor(() => lines.some((l) => l.ready === true) || manager.exitCode !== null, 'the part\'s ready line', 120_000, 100).catch(() => undefined);
  if (!lines.some((l) => l.ready === true)) throw new Error(`the part never said ready: ${stderr.slice(-6000)}`);
  await waitFor(() => said('policy reloaded') && (said('cage running, for the part to take', 'high') || said('cage start failed: the part\'s cage.start starts it again', 'high')), 'high\'s early start answered', 60_000, 100);
}, 200_000);

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
}, 90_000);

describe('a reload during the manager\'s own start of the cages', () => {
  it('the level the reload dropped while its cage was starting: that cage is stopped once started, none left under its uid (seen before: it ran on)', async () => {
    const reload = logged().find((l) => l.msg === 'policy reloaded');
    expect(reload?.levels).toEqual(['low']);
    // The reload was taken while high was still starting (its start's outcome said after it).
    const order = logged().map((l) => `${String(l.msg)}|${String(l.level ?? '')}`);
    expect(order.indexOf('policy reloaded|')).toBeLessThan(order.indexOf('cage start failed: the part\'s cage.start starts it again|high'));
    expect(said('cage running, for the part to take', 'high')).toBe(false);
    await waitFor(() => xvncPidsOf(UIDS.high).length === 0, 'no Xvnc under high\'s uid', 30_000, 100);
    expect(xvncPidsOf(UIDS.low)).toHaveLength(1);
  });
});
