/**
 * The manager's side of `sleep.wait`: how the unprivileged part learns the machine is about to
 * sleep, on a protocol where only it asks (as `cage.wait` tells a cage's end). The request stays
 * pending until logind's next PrepareForSleep(true), seen by the manager's one sleep guard
 * (sleepInhibitExecutor.ts), and is then answered; the part locks and asks again. Every wait
 * pending shares one promise: however often a part asks (or reconnects), the manager keeps one.
 * Nothing is answered for a sleep announced before the request came: the part asks again at once
 * after each answer, and a second announcement before it has would only lock a locked screen.
 */
import type { RequestOf } from './requests';

export function sleepWaitExecutor(): ((req: RequestOf<'sleep.wait'>) => Promise<{ sleeping: true }>) & { announce(): void } {
  let next: { promise: Promise<{ sleeping: true }>; resolve: (v: { sleeping: true }) => void } | null = null;
  const execute = () => {
    if (!next) {
      let resolve!: (v: { sleeping: true }) => void;
      const promise = new Promise<{ sleeping: true }>((r) => (resolve = r));
      next = { promise, resolve };
    }
    return next.promise;
  };
  return Object.assign(execute, {
    announce: () => {
      const waiting = next;
      next = null;
      waiting?.resolve({ sleeping: true });
    },
  });
}
