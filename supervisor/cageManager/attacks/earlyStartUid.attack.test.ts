/**
 * Attack (#29, review of the manager's own start of the cages): an administrator's reload that lands
 * while the manager is still starting a level's cage itself (`startEarly`, before its part asks).
 *
 * Seen before the fix (the test now asserts the opposite): the reload gives the level `high` another uid: the part (reading the new policy) asks
 * cage.start of high with the new uid, driverFor checks the REQUEST against the policy now, then
 * takeEarly hands it the cage the manager started from the OLD policy (only its innerPid compared,
 * not its definition, as adoption does): high runs under a uid the running policy no longer gives it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xvncPidsOf } from '../../testing/cageProcesses';
import { managerReloadedAtEarlyStart, type ReloadedManager } from '../../testing/managerReloadedAtEarlyStart';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const UIDS = { low: 59953, high: 59954, highAfter: 59955 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });
/** The same policy, high under another uid. */
const HIGH_MOVED = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.highAfter }) });

let manager: ReloadedManager | undefined;
const logged = () => manager!.logged();
const said = (msg: string, level?: string) => manager!.said(msg, level);

beforeAll(async () => {
  manager = await managerReloadedAtEarlyStart('early-uid', POLICY, HIGH_MOVED);
}, 200_000);

afterAll(() => manager?.stop(), 90_000);

describe('a reload during the manager\'s own start of the cages', () => {
  it('the part\'s cage.start under the new uid does not take the cage started under the old one: that one is stopped, a fresh one runs under the new uid (seen before: the old uid\'s cage handed over)', async () => {
    expect(logged().find((l) => l.msg === 'policy reloaded')?.levels).toEqual(['low', 'high']);
    expect(said('the part\'s cage.start takes the cage the manager started', 'high')).toBe(false);
    const ready = manager!.ready.cages as Array<{ level: string; status: string }>;
    expect(ready.find((c) => c.level === 'high')?.status).toBe('running');
    await waitFor(() => xvncPidsOf(UIDS.high).length === 0, 'no Xvnc under high\'s old uid', 30_000, 100);
    expect(xvncPidsOf(UIDS.highAfter)).toHaveLength(1);
  });
});
