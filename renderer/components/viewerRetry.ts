/**
 * How soon a viewer found stopped (viewerWatch.ts) gets a new frame. A viewer that stopped once —
 * a decoder bug, a renderer that died — gets one at once. A hostile cage can make its viewer stop
 * again and again (bytes that crash or hang each new frame as soon as it connects): each new frame
 * is a renderer process started, a page loaded and a ticket asked of the supervisor, for nothing.
 * So each further stop waits twice as long as the one before, up to RETRY_MAX_MS; a frame that
 * was good — connected, and still answering GOOD_FRAME_MS later — starts the count again.
 *
 * A viewer whose connection ends "unreachable" (a cage's display that speaks a version no client
 * knows, or closes at once) counts the same (handshake-12b): it used to connect again every second
 * for ever — each attempt a ticket, a gateway connection, a greeting check and journal lines. Its
 * first attempt again comes a second later (a display restarting), each further one after the same
 * back-off as a stop (nextAfterUnreachable).
 */

/** The second stop in a row waits this long; each one after, twice as long as the last. */
export const RETRY_FIRST_MS = 2000;
/** Never longer: the cage may have been fixed (restarted, its document closed) meanwhile. */
export const RETRY_MAX_MS = 60_000;
/** Connected this long without stopping: the viewer works, its next stop is a first one again. */
export const GOOD_FRAME_MS = 30_000;

export interface ViewerRetry {
  /** The frame stopped: how long to wait before the next one is made (0: at once). */
  stopped(): number;
  /** The viewer connected (its frame works, for now). */
  connected(): void;
  /** The user asked for a new frame: the count starts again. */
  reset(): void;
}

export function createViewerRetry(now: () => number = () => Date.now()): ViewerRetry {
  let stopsInARow = 0;
  let connectedAt: number | null = null;
  return {
    stopped() {
      if (connectedAt !== null && now() - connectedAt >= GOOD_FRAME_MS) stopsInARow = 0;
      connectedAt = null;
      stopsInARow += 1;
      return stopsInARow === 1 ? 0 : Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (stopsInARow - 2));
    },
    connected() {
      connectedAt ??= now();
    },
    reset() {
      stopsInARow = 0;
      connectedAt = null;
    },
  };
}

/** A viewer that ended unreachable once connects again this soon (a display restarting). */
export const UNREACHABLE_FIRST_MS = 1000;

/**
 * The viewer's connection ended unreachable: how long before it connects again, and whether that
 * is a back-off to say (its frame says it retries, and when) rather than a first quick attempt.
 */
export function nextAfterUnreachable(retry: ViewerRetry): { waitMs: number; backingOff: boolean } {
  const wait = retry.stopped();
  return wait > 0 ? { waitMs: wait, backingOff: true } : { waitMs: UNREACHABLE_FIRST_MS, backingOff: false };
}
