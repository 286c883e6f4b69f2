/**
 * A cage the manager's own start fails to start before the part asks (#29): said and journaled as
 * the manager's; the part's `cage.start` of that level is not handed the failure's leftovers nor
 * refused as "starting already": it gets a failure of its own start (a fresh one, failing here the same way, so the part
 * reports the cage not running), while the other level's cage, started by the manager, is taken.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuiltManager, type BuiltManager } from '../testing/builtManager';
import { xvncPidsOf } from '../testing/cageProcesses';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';
import { logRecords } from '../testing/logRecords';

const UIDS = { low: 59933, high: 59934 };
// The high level autostarts a program that is nowhere: its driver refuses to start it.
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high, apps: '[{ id: gone, exec: [cloison-no-such-program], autostart: true }]' }) });

let root: string;
let manager: BuiltManager;
const logged = () => logRecords(manager.stderr());

beforeAll(async () => {
  root = testRoot('cloison-early-fail-');
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), POLICY);
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'warn']);
  await manager.untilLine((l) => l.ready === true, 'the part\'s ready line', 120_000);
}, 130_000);

afterAll(async () => {
  await manager?.stop();
}, 90_000);

describe('a cage the manager fails to start before its part asks', () => {
  it('is said and journaled as the manager\'s failure; the part\'s start of it is a fresh one (not running), the other cage taken and running', () => {
    const failed = logged().find((l) => l.msg === 'cage start failed: the part\'s cage.start starts it again' && l.level === 'high');
    expect(failed?.reason).toMatch(/cloison-no-such-program/);
    const journal = readFileSync(join(root, 'state', MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'manager.cageStartFailed').map((r) => r.level)).toEqual(['high']);
    expect(logged().filter((l) => l.msg === 'the part\'s cage.start takes the cage the manager started').map((l) => l.level)).toEqual(['low']);
    const ready = manager.lines.find((l) => l.ready === true)!.cages as Array<{ level: string; status: string }>;
    expect(ready.find((c) => c.level === 'low')?.status).toBe('running');
    expect(ready.find((c) => c.level === 'high')?.status).not.toBe('running');
    expect([xvncPidsOf(UIDS.low).length, xvncPidsOf(UIDS.high).length]).toEqual([1, 0]);
  });
});
