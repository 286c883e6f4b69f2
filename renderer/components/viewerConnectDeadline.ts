/**
 * How long a viewer may say "connecting" once it was handed its ticket. A viewer that answers its
 * pings (viewerWatch.ts) but never connects is no renderer that stopped: its cage's display does not
 * answer as it should — a server that greets and then says nothing, or a handshake noVNC cannot
 * finish (handshake-12: a server that wrote its whole handshake unasked left its viewer there for
 * ever). Without a deadline its frame said "starting" for ever: no picture, no error, no retry. Past
 * it, the frame says so and is loaded again with the back-off of a viewer that stopped
 * (viewerRetry.ts), its new ticket a new connection.
 *
 * Only the time this page is visible counts, as for the watch: a hidden window's timers, the
 * viewer's among them, are throttled, and a slow handshake then means nothing.
 */

/**
 * From the ticket handed over to connected: noVNC's load on a busy machine (its fetch and compile
 * overlap the ticket's handing over, viewerMain.ts) and a handshake of a few round trips take
 * seconds at most; a cage's Xvnc answers at once. 30 s, not 15: a viewer merely slow on a loaded
 * machine must not be reloaded (its early frame replaced, its work begun again: a reload only makes
 * a slow start slower); a clean-clone CI run's early-frame check failed after 19 s, past 15.
 */
export const VIEWER_CONNECT_MS = 30_000;

export interface ViewerConnectDeadline {
  /** The viewer was handed its ticket: it connects now. */
  opened(): void;
  /** It said connected or unreachable, or its frame is gone: no deadline runs. */
  ended(): void;
  /** Whether it has been connecting past the deadline (visible time only). */
  overdue(): boolean;
}

export function createViewerConnectDeadline(now: () => number = () => Date.now(), visible: () => boolean = () => document.visibilityState === 'visible'): ViewerConnectDeadline {
  /** Visible time connecting so far, and when it was last counted; null: not connecting. */
  let spent: number | null = null;
  let countedAt = 0;
  let wasVisible = true;
  return {
    opened() {
      spent = 0;
      countedAt = now();
      wasVisible = visible();
    },
    ended() {
      spent = null;
    },
    overdue() {
      if (spent === null) return false;
      const t = now();
      const isVisible = visible();
      // Time since the last count is held against it only if the page was visible at both ends.
      if (isVisible && wasVisible) spent += t - countedAt;
      countedAt = t;
      wasVisible = isVisible;
      return spent > VIEWER_CONNECT_MS;
    },
  };
}
