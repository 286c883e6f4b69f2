/**
 * The manager's side of `sleep.inhibit`: logind's delay inhibitor for sleep and the watch on
 * PrepareForSleep (session/sleepGuard.ts, as the supervisor holds them today). One guard for the
 * manager's life, so at most one inhibitor is ever held however often the part asks: the first
 * request starts the guard, a later one takes the inhibitor again if it was let go (after a resume,
 * or an unlock: what lockWiring.ts does today) and never a second one. The answer is the guard's
 * state once logind has answered (or a few seconds passed).
 */
import { SleepGuard, type SleepGuardOptions, type SleepGuardState } from '../session/sleepGuard';
import type { RequestOf } from './requests';

export interface SleepInhibitExecutorOptions {
  /** The machine is about to sleep: the lock must be drawn now (the part is told). */
  onSleep: () => void;
  settleMs?: number;
  /** The tools' environment (tests point DBUS_SYSTEM_BUS_ADDRESS at a bus of their own). */
  env?: NodeJS.ProcessEnv;
  log?: SleepGuardOptions['log'];
  /** How long to wait for logind's answer before saying the state as it is. */
  answerWithinMs?: number;
}

export function sleepInhibitExecutor(options: SleepInhibitExecutorOptions): ((req: RequestOf<'sleep.inhibit'>) => Promise<{ state: SleepGuardState }>) & { stop(): void } {
  let guard: SleepGuard | null = null;
  const execute = async () => {
    if (!guard) {
      guard = new SleepGuard({ onSleep: options.onSleep, ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}), ...(options.env ? { env: options.env } : {}), ...(options.log ? { log: options.log } : {}) });
      guard.start();
    } else {
      guard.hold();
    }
    const deadline = Date.now() + (options.answerWithinMs ?? 3000);
    while (guard.state !== 'logind' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { state: guard.state };
  };
  return Object.assign(execute, { stop: () => guard?.stop() });
}
