/**
 * A cage the manager's own start fails to start before the part asks (#29): said and journaled as
 * the manager's; the part's `cage.start` of that level is not handed the failure's leftovers nor
 * refused as "starting already": it gets a failure of its own start (a fresh one, failing here the same way, so the part
 * reports the cage not running), while the other level's cage, started by the manager, is taken.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xvncPidsOf } from '../testing/cageProcesses';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';
import { logRecords } from '../testing/logRecords';

const REPO = resolve(__dirname, '../..');
const UIDS = { low: 62933, high: 62934 };
// The high level autostarts a program that is nowhere: its driver refuses to start it.
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high, apps: '[{ id: gone, exec: [cloison-no-such-program], autostart: true }]' }) });

let root: string;
let manager: ChildProcess;
let stderr = '';
const lines: Array<Record<string, unknown>> = [];
const logged = () => logRecords(stderr);

beforeAll(async () => {
  if (!existsSync(join(REPO, 'out/supervisor/cageManager.js'))) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
  root = testRoot('cloison-early-fail-');
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), POLICY);
  const argv = [join(REPO, 'out/supervisor/cageManager.js'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'warn'];
  manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: manager.stdout! }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  await waitFor(() => lines.some((l) => l.ready === true) || manager.exitCode !== null, 'the part\'s ready line', 120_000, 100);
  if (!lines.some((l) => l.ready === true)) throw new Error(`the part never said ready: ${stderr}`);
}, 130_000);

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
}, 90_000);

describe('a cage the manager fails to start before its part asks', () => {
  it('is said and journaled as the manager\'s failure; the part\'s start of it is a fresh one (not running), the other cage taken and running', () => {
    const failed = logged().find((l) => l.msg === 'cage start failed: the part\'s cage.start starts it again' && l.level === 'high');
    expect(failed?.reason).toMatch(/cloison-no-such-program/);
    const journal = readFileSync(join(root, 'state', MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'manager.cageStartFailed').map((r) => r.level)).toEqual(['high']);
    expect(logged().filter((l) => l.msg === 'the part\'s cage.start takes the cage the manager started').map((l) => l.level)).toEqual(['low']);
    const ready = lines.find((l) => l.ready === true)!.cages as Array<{ level: string; status: string }>;
    expect(ready.find((c) => c.level === 'low')?.status).toBe('running');
    expect(ready.find((c) => c.level === 'high')?.status).not.toBe('running');
    expect([xvncPidsOf(UIDS.low).length, xvncPidsOf(UIDS.high).length]).toEqual([1, 0]);
  });
});
