/**
 * Attack (#29, review of the manager's own start of the cages): an administrator's reload that lands
 * while the manager is still starting a level's cage itself (`startEarly`, before its part asks).
 *
 * Seen before the fix (the test now asserts the opposite): the reload drops the level `high`: applyPolicy stops only the dropped levels'
 * RUNNING cages (cages.cage(level)), and a start under way is 'starting', not running, so nothing is
 * stopped; the early start then finishes and the cage of a level the running policy no longer names
 * keeps running (its Xvnc under its uid), held for a part that can never take it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xvncPidsOf } from '../../testing/cageProcesses';
import { managerReloadedAtEarlyStart, type ReloadedManager } from '../../testing/managerReloadedAtEarlyStart';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const UIDS = { low: 58530, high: 58531 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });
/** The same policy without the level high. */
const ONLY_LOW = POLICY.slice(0, POLICY.indexOf('  - id: high'));

let manager: ReloadedManager | undefined;
const logged = () => manager!.logged();
const said = (msg: string, level?: string) => manager!.said(msg, level);

beforeAll(async () => {
  manager = await managerReloadedAtEarlyStart('early-reload', POLICY, ONLY_LOW);
  await waitFor(() => said('cage running, for the part to take', 'high') || said('cage start failed: the part\'s cage.start starts it again', 'high'), 'high\'s early start answered', 60_000, 100);
}, 200_000);

afterAll(() => manager?.stop(), 90_000);

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
