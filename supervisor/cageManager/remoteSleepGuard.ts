/**
 * The lock before sleep when the supervisor is the unprivileged `cloison` part: the root cage
 * manager holds logind's delay inhibitor and watches PrepareForSleep (`sleep.inhibit`, one guard
 * for its life), and tells the part the machine is about to sleep by answering a `sleep.wait` the
 * part keeps pending — the protocol stays request/reply, as `cage.wait` does for a cage's end. The
 * part locks at the answer and asks again at once; the manager lets go of the inhibitor its settle
 * time later, the lock drawn by then.
 *
 * A failed wait asks again a second later (the live requester connects anew after a lost
 * connection); after a lost connection it holds again first, since a restarted manager holds no
 * inhibitor until asked. `hold` is `sleep.inhibit` once more: the manager's guard takes the
 * inhibitor again if it was let go (a forged "going to sleep"), never a second one.
 */
import { CloisonError } from '../../shared/errors';
import type { LockBeforeSleep, SleepGuardState } from '../session/sleepGuard';
import type { ManagerRequester } from './managerLink';

export interface RemoteSleepGuardOptions {
  client: ManagerRequester;
  /** The machine is about to sleep: lock now. */
  onSleep: () => void;
  onState?: (state: SleepGuardState) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** How long after a failed wait to ask again. */
  retryMs?: number;
}

export class RemoteSleepGuard implements LockBeforeSleep {
  private current: SleepGuardState = 'unavailable';
  private started = false;
  private stopped = false;
  /** The connection was lost since the manager last held the inhibitor for us: hold again. */
  private lost = false;

  constructor(private readonly options: RemoteSleepGuardOptions) {}

  get state(): SleepGuardState {
    return this.current;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.hold();
    this.watch();
  }

  hold(): void {
    if (this.stopped || this.options.client.closed) return;
    this.options.client.request({ op: 'sleep.inhibit' }).then(
      (answer) => {
        this.lost = false;
        this.set((answer as { state?: unknown }).state === 'logind' ? 'logind' : 'unavailable');
      },
      (err: Error) => {
        this.options.log?.('the cage manager holds no lock before sleep', { error: err.message.slice(0, 200) });
        this.set('unavailable');
      },
    );
  }

  stop(): void {
    this.stopped = true;
  }

  private watch(): void {
    if (this.stopped || this.options.client.closed) return;
    this.options.client.request({ op: 'sleep.wait' }).then(
      () => {
        if (this.stopped) return;
        this.options.onSleep();
        this.watch();
      },
      (err: Error) => {
        if (this.stopped || this.options.client.closed) return;
        this.options.log?.('the sleep notice from the cage manager failed; asking again', { error: err.message.slice(0, 200) });
        if (err instanceof CloisonError && err.code === 'CONNECTION_LOST') this.lost = true;
        setTimeout(() => {
          if (this.lost) this.hold();
          this.watch();
        }, this.options.retryMs ?? 1000).unref();
      },
    );
  }

  private set(state: SleepGuardState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onState?.(state);
  }
}
