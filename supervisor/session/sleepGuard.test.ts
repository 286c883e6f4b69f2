/**
 * The lock before sleep, against the machine's real systemd-logind on a system bus of the test's
 * own: Cloison holds a delay inhibitor for sleep; when logind's PrepareForSleep(true) arrives it
 * locks first and only then lets the machine sleep (the inhibitor goes); PrepareForSleep(false)
 * takes it again. logind cannot be made to suspend this machine, so the test emits the signal on
 * that bus itself. Without logind the guard says it is unavailable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { busctl, privateLogindUnavailable, startPrivateLogind, type PrivateLogind } from '../testing/privateLogind';
import { skipWithReason } from '../testing/skipWithReason';
import { waitFor } from '../testing/waitFor';
import { SleepGuard } from './sleepGuard';

const inhibitors = async (address: string) => (await busctl(address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'ListInhibitors'])).stdout;
const emitSleep = (address: string, going: boolean) => busctl(address, ['emit', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep', 'b', String(going)]);

describe('lock before sleep (real logind on a private bus)', () => {
  let logind: PrivateLogind | null = null;
  afterAll(() => logind?.stop());

  it('holds a delay inhibitor, locks on PrepareForSleep before letting go, takes it again on resume', async (ctx) => {
    const why = privateLogindUnavailable();
    if (why) skipWithReason(ctx, why);
    logind = await startPrivateLogind();
    const events: string[] = [];
    const guard = new SleepGuard({ onSleep: () => events.push('locked'), settleMs: 300, env: { DBUS_SYSTEM_BUS_ADDRESS: logind.address } });
    guard.start();
    try {
      await waitFor(() => guard.state === 'logind', 'the inhibitor');
      expect(await inhibitors(logind.address)).toMatch(/"sleep" "Cloison" "Lock the screen before sleep" "delay"/);
      await new Promise((r) => setTimeout(r, 300)); // the monitor is listening
      await emitSleep(logind.address, true);
      await waitFor(() => events.length === 1, 'the lock');
      // Locked first; the inhibitor is still held until the shell had its moment to draw.
      expect(await inhibitors(logind.address)).toContain('Cloison');
      await waitFor(async () => !(await inhibitors(logind!.address)).includes('Cloison'), 'the inhibitor released');
      expect(guard.state).toBe('unavailable');
      await emitSleep(logind.address, false);
      await waitFor(() => guard.state === 'logind', 'the inhibitor again');
      expect(await inhibitors(logind.address)).toContain('Cloison');
    } finally {
      guard.stop();
    }
  });

  it('without logind, says the lock before sleep is unavailable', async () => {
    const guard = new SleepGuard({ onSleep: () => undefined, env: { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    guard.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(guard.state).toBe('unavailable');
    guard.stop();
  });
});
