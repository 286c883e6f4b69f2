/**
 * What the launcher shows running, as a user reads it through apps.list: each app's count of
 * instances, the ones the cage's session started by itself (autostart) included, up when another is
 * started from the launcher, down when one is closed — with two real cages. An app whose .desktop
 * file names its windows' class is counted by its open windows: its program may hand over to a
 * process already running and end (Firefox, LibreOffice), which a count of processes missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPidOf, processesInCage } from '../testing/cageProcesses';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const POLICY = twoLevelPolicy({
  // terminal: like Firefox or LibreOffice opening a second window, the program started hands over
  // (here to an xterm it leaves behind) and ends; its window, of the .desktop file's class, stays.
  low: bwrapCage({ uid: 58523, apps: "[{ id: clock, exec: [xclock, -digital], autostart: true }, { id: logo, exec: [xlogo] }, { id: terminal, exec: [sh, -c, 'xterm & exit 0'], desktop: debian-xterm, autostart: true }]" }),
  high: bwrapCage({ uid: 58524, apps: '[xeyes]' }),
});

describe('running applications, counted in the launcher', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(POLICY);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  const running = async () => {
    const r = await t.rpc.call('apps.list', {});
    return Object.fromEntries((r.result.levels as Array<{ level: string; apps: Array<{ id: string; running: number }> }>).flatMap((l) => l.apps.map((a) => [`${l.level}/${a.id}`, a.running])));
  };
  const inLow = (program: string) => processesInCage(t.sup.cages.get('low')!.cage!.innerPid!).filter((p) => p.command.split(' ')[0] === program);

  it('counts the autostarted apps of both levels (the policy object form and the old list form) once they run', async () => {
    await waitFor(() => inLow('xclock').length === 1, 'the autostarted xclock in low');
    await waitFor(async () => (await running())['high/xeyes'] === 1, 'the autostarted xeyes counted in high');
    await waitFor(async () => (await running())['low/terminal'] === 1, 'the autostarted terminal counted by its window');
    expect(await running()).toEqual({ 'low/clock': 1, 'low/logo': 0, 'low/terminal': 1, 'high/xeyes': 1 });
  });

  it('counts the windows of an app whose program handed over and ended, as Firefox and LibreOffice do', async () => {
    expect((await t.rpc.call('apps.launch', { level: 'low', id: 'terminal' })).ok).toBe(true);
    await waitFor(() => inLow('xterm').length === 2, 'two xterm in low');
    await waitFor(async () => (await running())['low/terminal'] === 2, 'two terminal windows counted');
    process.kill(inLow('xterm')[0]!.pid, 'SIGTERM');
    await waitFor(async () => (await running())['low/terminal'] === 1, 'one terminal window left');
  });

  it('adds the instances started from the launcher to the autostarted one, and drops each one closed', async () => {
    const second = await t.rpc.call('apps.launch', { level: 'low', id: 'clock' });
    expect(second.ok).toBe(true);
    await waitFor(() => inLow('xclock').length === 2, 'two xclock in low');
    expect((await running())['low/clock']).toBe(2);
    // The autostarted one closed: the launcher's count follows.
    const autostarted = inLow('xclock').find((p) => p.pid !== hostPidOf(t.sup.cages.get('low')!.cage!.innerPid!, second.result.pid))!;
    process.kill(autostarted.pid, 'SIGTERM');
    await waitFor(async () => (await running())['low/clock'] === 1, 'the count down to 1');
    expect(await running()).toEqual({ 'low/clock': 1, 'low/logo': 0, 'low/terminal': 1, 'high/xeyes': 1 });
  });
});
