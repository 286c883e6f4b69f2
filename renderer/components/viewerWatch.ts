/**
 * Tells a viewer that stopped from one that is only quiet. A viewer frame runs in a renderer
 * process of its own: when a cage's bytes crash it (or hang its decoding), that frame goes blank
 * or freezes and says nothing more — no event reaches the trusted page. So the page asks it
 * every PING_INTERVAL_MS and takes a frame that answered nothing (no pong, no state, no ready)
 * for VIEWER_SILENT_MS as stopped: its frame says so and is loaded again, which reconnects.
 *
 * Only while this page is visible: a hidden or minimised window has its timers throttled, the
 * viewer's as much as its own, and silence then means nothing.
 */

export const PING_INTERVAL_MS = 1000;
/** Several missed pings: a loaded machine delays an answer by a second or two, never six. */
export const VIEWER_SILENT_MS = 6000;

export interface ViewerWatch {
  /** The viewer said something (any message of its own frame). */
  heard(): void;
  /** Whether the viewer has been silent too long; counts only visible time. */
  stopped(): boolean;
}

export function createViewerWatch(now: () => number = () => Date.now(), visible: () => boolean = () => document.visibilityState === 'visible'): ViewerWatch {
  let last = now();
  let wasVisible = visible();
  return {
    heard() {
      last = now();
    },
    stopped() {
      const isVisible = visible();
      // Silence while hidden is not held against the viewer: the count starts again when shown.
      if (!isVisible || !wasVisible) last = now();
      wasVisible = isVisible;
      return isVisible && now() - last > VIEWER_SILENT_MS;
    },
  };
}
