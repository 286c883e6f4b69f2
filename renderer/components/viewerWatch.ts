/**
 * Tells a viewer that stopped from one that is only quiet. A viewer frame runs in a renderer
 * process of its own: when a cage's bytes crash it (or hang its decoding), that frame goes blank
 * or freezes and says nothing more — no event reaches the trusted page. So the page asks it
 * every PING_INTERVAL_MS and takes a frame that answered nothing (no pong, no state, no ready)
 * for VIEWER_SILENT_MS as stopped: its frame says so and is loaded again, which reconnects.
 *
 * A frame still loading its page has not run the script that answers yet, and has seen no cage
 * byte (its ticket comes after it said ready): its silence means only that the machine is busy.
 * On a loaded machine a new renderer process and the viewer's script take more than
 * VIEWER_SILENT_MS, and a frame replaced for that loads again from nothing, as slowly — the viewers
 * were replaced two or three times before their tickets. So until its document has loaded (the
 * frame's load event) or it spoke, a frame is held to VIEWER_LOAD_MS only: a renderer that died
 * while loading is still replaced, later.
 *
 * Only while this page is visible: a hidden or minimised window has its timers throttled, the
 * viewer's as much as its own, and silence then means nothing.
 */

export const PING_INTERVAL_MS = 1000;
/** Several missed pings: a loaded machine delays an answer by a second or two, never six. */
export const VIEWER_SILENT_MS = 6000;
/** A frame's page loading (no script of it run yet): a busy machine's process start and script, with room. */
export const VIEWER_LOAD_MS = 30_000;

export interface ViewerWatch {
  /** A new frame was made: its page loads, and says nothing until its script ran. */
  loading(): void;
  /** The frame's document has loaded (its load event): its script ran, it has said ready or is about to. */
  loaded(): void;
  /** The viewer said something (any message of its own frame). */
  heard(): void;
  /** Whether the viewer has been silent too long; counts only visible time. */
  stopped(): boolean;
}

export function createViewerWatch(now: () => number = () => Date.now(), visible: () => boolean = () => document.visibilityState === 'visible'): ViewerWatch {
  let last = now();
  let limit = VIEWER_LOAD_MS;
  let wasVisible = visible();
  const since = (ms: number) => {
    last = now();
    limit = ms;
  };
  return {
    loading: () => since(VIEWER_LOAD_MS),
    loaded: () => since(VIEWER_SILENT_MS),
    heard: () => since(VIEWER_SILENT_MS),
    stopped() {
      const isVisible = visible();
      // Silence while hidden is not held against the viewer: the count starts again when shown.
      if (!isVisible || !wasVisible) last = now();
      wasVisible = isVisible;
      return isVisible && now() - last > limit;
    },
  };
}
