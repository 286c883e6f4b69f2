/**
 * The split's start for real (#29), the manager's bundle with the supervisor as its `cloison` part:
 * the manager starts both cages itself while its part starts, and the part's first `cage.start` of
 * each level takes that very cage (the manager's log order, its journal); the part's shell shows
 * both cages running; a second `cage.start` (asked as cloison on the manager's socket) is refused;
 * the part killed and started again by the manager finds the same cages (the same Xvnc, no second):
 * the new part's cage.start is refused (running already) and it waits for the cage (rejoiningCageDriver.ts).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuiltManager, type BuiltManager } from '../testing/builtManager';
import { xvncPidsOf } from '../testing/cageProcesses';
import { createPamTestUser, createTestGroup, type PamTestUser } from '../testing/pamTestUser';
import { rpcClientAs } from '../testing/rpcClient';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';
import { logRecords } from '../testing/logRecords';

const REPO = resolve(__dirname, '../..');
const UIDS = { low: 58540, high: 58541 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });

let root: string;
let manager: BuiltManager;
let shellUser: PamTestUser;
let group: { name: string; gid: number; remove(): void };

const logged = () => logRecords(manager.stderr());
const indexOf = (msg: string, level: string) => logged().findIndex((l) => l.msg === msg && l.level === level);
const partPids = () => [...manager.stderr().matchAll(/"msg":"cloison part started","pid":(\d+)/g)].map((m) => Number(m[1]));
const rpcSocket = () => manager.lines.find((l) => l.listening === true && 'rpcSocket' in l)!.rpcSocket as string;

async function cagesSeenByTheShell(): Promise<string[]> {
  const shell = await rpcClientAs(rpcSocket(), shellUser.uid, shellUser.gid);
  try {
    const described = await shell.call('session.describe', {});
    return (described.result.cages as Array<{ level: string; status: string }>).map((c) => `${c.level} ${c.status}`);
  } finally {
    shell.close();
  }
}

beforeAll(async () => {
  root = testRoot('cloison-early-');
  chmodSync(root, 0o711); // the part (cloison) reaches its folders beside the manager's
  writeFileSync(join(root, 'p.yaml'), POLICY);
  shellUser = createPamTestUser();
  group = createTestGroup([shellUser.user]);
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--shell-group', group.name, '--log-level', 'warn']);
  await manager.untilLine((l) => l.ready === true, 'the part\'s ready line', 120_000);
}, 130_000);

afterAll(async () => {
  await manager?.stop();
  group?.remove();
  shellUser?.remove();
}, 90_000);

describe('the cage manager starts the cages while its part starts', () => {
  it('both cages started by the manager before the part asked, the part\'s cage.start of each answered with that very cage; its shell shows both running', async () => {
    for (const level of ['low', 'high']) {
      const started = indexOf('cage started before the part asks', level);
      const running = logged().find((l) => l.msg === 'cage running, for the part to take' && l.level === level);
      const taken = logged().find((l) => l.msg === 'the part\'s cage.start takes the cage the manager started' && l.level === level);
      expect(started).toBeGreaterThanOrEqual(0);
      expect(started).toBeLessThan(indexOf('the part\'s cage.start takes the cage the manager started', level));
      expect(taken?.innerPid).toBe(running?.innerPid);
    }
    const journal = readFileSync(join(root, 'state', MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'manager.cageStart').map((r) => `${r.actor as string} ${r.level as string}`)).toEqual(['manager low', 'manager high']);
    expect(await cagesSeenByTheShell()).toEqual(['low running', 'high running']);
    expect([xvncPidsOf(UIDS.low).length, xvncPidsOf(UIDS.high).length]).toEqual([1, 1]);
  }, 30_000);

  it('a second cage.start of a level, asked as cloison on the manager\'s socket, is refused: the cage is the part\'s already', () => {
    const cloison = spawnSync('id', ['-u', 'cloison'], { encoding: 'utf8' }).stdout.trim();
    const asked = spawnSync('setpriv', ['--reuid', cloison, '--regid', cloison, '--clear-groups', '--', process.execPath, '--import', 'tsx', join(__dirname, 'earlyCageStartAsker.testTool.ts'), join(root, 'run', 'cage-manager.sock'), 'low', String(UIDS.low)], { cwd: REPO, encoding: 'utf8' });
    const answer = JSON.parse(asked.stdout.trim().split('\n').pop()!) as { error?: string; code?: string };
    expect(answer.error).toMatch(/cage low is running already: a second start is refused/);
    expect(xvncPidsOf(UIDS.low).length).toBe(1);
  }, 30_000);

  it('the part killed and started again by the manager finds the same cages: the same Xvnc, no second cage', async () => {
    const xvnc = [xvncPidsOf(UIDS.low), xvncPidsOf(UIDS.high)];
    const [first] = partPids();
    process.kill(first!, 'SIGKILL');
    await waitFor(() => logged().some((l) => l.msg === 'cloison part ended: starting it again'), 'the part started again', 60_000, 100);
    // The new part's ready line, relayed by the manager, then its shell asked.
    await waitFor(() => manager.lines.filter((l) => l.ready === true).length > 1, 'the new part\'s ready line', 90_000, 100);
    expect(manager.lines.filter((l) => l.ready === true).pop()!.cages).toEqual([expect.objectContaining({ level: 'low', status: 'running' }), expect.objectContaining({ level: 'high', status: 'running' })]);
    expect(await cagesSeenByTheShell()).toEqual(['low running', 'high running']);
    expect([xvncPidsOf(UIDS.low), xvncPidsOf(UIDS.high)]).toEqual(xvnc);
  }, 130_000);
});
