/**
 * As `npm start` runs it, a cage's autostarted applications wait for its desktop to reach the shell
 * (appsHold.ts): with two real cages and no shell, none runs while no viewer has connected; once the
 * shell's viewer of one level connects through the gateway, both levels' applications start, each a
 * true cage process (in its cage's pid namespace, as its level's uid).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesInCage } from '../testing/cageProcesses';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: 62961, apps: '[{ id: clock, exec: [xclock], autostart: true }]' }),
  high: bwrapCage({ uid: 62962, apps: '[xeyes]' }),
});

describe('autostarted applications held until the shell shows a desktop', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(POLICY, { browserShell: true, appsHold: { capMs: 120_000 } });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  const inCage = (level: string, program: string) => processesInCage(t.sup.cages.get(level)!.cage!.innerPid!).filter((p) => p.command.split(' ')[0] === program);

  it('none runs before a viewer connects; both levels\' run once one does', async () => {
    // Longer than the session's own wait for its window manager and sound (sessionApps.ts).
    await new Promise((r) => setTimeout(r, 4000));
    expect(inCage('low', 'xclock')).toEqual([]);
    expect(inCage('high', 'xeyes')).toEqual([]);
    const viewer = await t.viewer('low');
    try {
      await waitFor(() => inCage('low', 'xclock').length === 1, 'xclock in low', 15_000, 200);
      await waitFor(() => inCage('high', 'xeyes').length === 1, 'xeyes in high', 15_000, 200);
      expect(inCage('low', 'xclock')[0]!.uid).toBe(62961);
      expect(inCage('high', 'xeyes')[0]!.uid).toBe(62962);
    } finally {
      viewer.close();
    }
  }, 60_000);
});
