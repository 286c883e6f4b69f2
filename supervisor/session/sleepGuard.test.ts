/**
 * The lock before sleep, against the machine's real systemd-logind on a system bus of the test's
 * own: Cloison holds a delay inhibitor for sleep; when logind's PrepareForSleep(true) arrives it
 * locks first and only then lets the machine sleep (the inhibitor goes); PrepareForSleep(false)
 * takes it again. logind cannot be made to suspend this machine, so the test emits the signal on
 * that bus itself. Without logind the guard says it is unavailable.
 */
import { execFile } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createPamTestUser } from '../testing/pamTestUser';
import { busctl, privateLogindUnavailable, startPrivateLogind, type PrivateLogind } from '../testing/privateLogind';
import { skipWithReason } from '../testing/skipWithReason';
import { waitFor } from '../testing/waitFor';
import { SleepGuard } from './sleepGuard';

const inhibitors = async (address: string) => (await busctl(address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'ListInhibitors'])).stdout;

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
      await logind.announce(true);
      await waitFor(() => events.length === 1, 'the lock');
      // Locked first; the inhibitor is still held until the shell had its moment to draw.
      expect(await inhibitors(logind.address)).toContain('Cloison');
      await waitFor(async () => !(await inhibitors(logind!.address)).includes('Cloison'), 'the inhibitor released');
      expect(guard.state).toBe('unavailable');
      await logind.announce(false);
      await waitFor(() => guard.state === 'logind', 'the inhibitor again');
      expect(await inhibitors(logind.address)).toContain('Cloison');
    } finally {
      guard.stop();
    }
  });

  it('a PrepareForSleep forged by another local account (not logind) does not lock: only logind\'s own does', async (ctx) => {
    const why = privateLogindUnavailable();
    if (why) skipWithReason(ctx, why);
    logind ??= await startPrivateLogind();
    const address = logind.address;
    const events: string[] = [];
    const guard = new SleepGuard({ onSleep: () => events.push('locked'), settleMs: 100, env: { DBUS_SYSTEM_BUS_ADDRESS: address } });
    const forger = createPamTestUser();
    guard.start();
    try {
      await waitFor(() => guard.state === 'logind', 'the inhibitor');
      await new Promise((r) => setTimeout(r, 300)); // the monitor is listening
      // The forger's busctl, then a sleep logind itself announces: only the latter may lock.
      const forged = await new Promise<string | null>((resolve) =>
        execFile('setpriv', [`--reuid=${forger.uid}`, `--regid=${forger.gid}`, '--clear-groups', '--', 'busctl', '--system', 'emit', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep', 'b', 'true'], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address } }, (err) => resolve(err ? err.message : null)),
      );
      expect(forged, 'the forger reached the bus').toBeNull();
      await logind.announce(true);
      await waitFor(() => events.length > 0, 'the lock');
      await waitFor(() => guard.state === 'unavailable', 'the inhibitor let go for the sleep');
      // The resume comes after both on the bus: once it is seen, so were they.
      await logind.announce(false);
      await waitFor(() => guard.state === 'logind', 'the inhibitor again');
      console.log(`a forged PrepareForSleep then logind's own: ${events.length} lock(s)`);
      expect(events).toEqual(['locked']);
    } finally {
      guard.stop();
      forger.remove();
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
