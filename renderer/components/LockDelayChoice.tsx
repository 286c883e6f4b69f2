/**
 * The user's lock delay for this session (CLIP OS 4: for a presentation, say), in the trusted
 * overview: from a minute up to what the policy allows. It lasts until the workstation next locks;
 * the supervisor refuses anything beyond the policy whatever this list offers.
 */
import type { LockView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';

const MINUTES = [1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 240];

export function delayChoices(lock: LockView): number[] {
  const seconds = new Set(MINUTES.map((m) => m * 60).filter((s) => s <= lock.userMayExtendUpTo));
  seconds.add(lock.policyLockAfterSeconds);
  seconds.add(lock.lockAfterSeconds);
  return [...seconds].sort((a, b) => a - b);
}

export function LockDelayChoice({ lock }: { lock: LockView }) {
  const { api, store } = useShell();
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).lock;
  const label = (s: number) => (s % 60 === 0 ? `${s / 60} ${t.minutes}` : `${s} ${t.seconds}`) + (s === lock.policyLockAfterSeconds ? ` (${t.policyDelay})` : '');
  return (
    <label className="lock-delay">
      {t.delay}
      <select
        data-testid="overview-lock-delay"
        value={lock.lockAfterSeconds}
        onChange={(e) => void api.call('session.lockDelay', { seconds: Number(e.target.value) }).then((view) => store.getState().setLock(view), () => undefined)}
      >
        {delayChoices(lock).map((s) => (
          <option key={s} value={s}>
            {label(s)}
          </option>
        ))}
      </select>
    </label>
  );
}
