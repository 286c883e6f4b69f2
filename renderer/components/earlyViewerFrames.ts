/**
 * The viewer frames, made as the shell page starts rather than once its RPC link has answered: each
 * frame's renderer process and viewer page (noVNC) then load while the page connects to the
 * supervisor and asks for the first tickets, not after (issue #26).
 *
 * A frame needs only its viewer origin to start loading; which level it shows can wait. The
 * origins are this page's own: the frame-src of the Content-Security-Policy its server sent (the
 * exact list of the levels' viewer origins, read again from the same server; the browser enforces
 * that list on every frame anyway). Such a frame belongs to no level: it lies in a hidden pool, is
 * sent nothing (no ticket, no message of any kind) and is told nothing of the levels. Once the
 * supervisor has described the session, each level's viewer (CageViewer.tsx) claims the frame of
 * the origin the supervisor gave that level — an origin is one level's for the part's life — and
 * moves it into its box without reloading it (`moveBefore`: the document and its process are kept).
 * From then on the frame is that viewer's as if it had made it: its ticket, its messages, its
 * watch. A frame no level claims (the page locked, an origin the session no longer has) is removed.
 *
 * Only in the browser host, and only where the browser moves a frame without reloading it (without
 * `moveBefore` a claimed frame would load twice): elsewhere no frame is made early.
 */
import { viewerToShellSchema, VIEWER_PAGE } from '../../shared/viewerProtocol';

/**
 * A step of the page's start, once (performance.mark: what bench/shellStartMarks.ts reads): the
 * first time only, so reconnections over a day add nothing.
 */
export function markOnce(name: string): void {
  if (typeof performance === 'undefined' || performance.getEntriesByName(name, 'mark').length > 0) return;
  performance.mark(name);
}

/** What a claimed frame brings: the element, and what it already did while unclaimed. */
export interface EarlyFrame {
  frame: HTMLIFrameElement;
  /** Its document's load event came. */
  loaded: boolean;
  /** Its viewer page said it listens (a `ready` from its own window and origin). */
  ready: boolean;
}

export interface EarlyViewerFrames {
  /** A frame for this origin is there to be claimed. */
  has(origin: string): boolean;
  /** Takes the frame of this origin, once; null when there is none (never made, claimed, dropped). */
  claim(origin: string): EarlyFrame | null;
  /** Removes every frame not claimed (and the pool: call it once the claimed ones were moved out), and makes none from now on. */
  dropUnclaimed(): void;
}

export const NO_EARLY_FRAMES: EarlyViewerFrames = { has: () => false, claim: () => null, dropUnclaimed: () => undefined };

/** A viewer origin as the browser part serves them: http on a loopback address, with its port. */
const VIEWER_ORIGIN = /^http:\/\/127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$/;

/** The viewer origins a Content-Security-Policy's frame-src names (never the shell's own, never a wildcard). */
export function viewerOriginsFromCsp(csp: string, shellOrigin: string): string[] {
  const directive = csp
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .find((words) => words[0]?.toLowerCase() === 'frame-src');
  if (!directive) return [];
  return [...new Set(directive.slice(1).filter((o) => VIEWER_ORIGIN.test(o) && o !== shellOrigin))];
}

/** The frame's attributes: the same as CageViewer.tsx gives the frames it makes. */
export function makeViewerFrame(doc: Document, origin: string, shellOrigin: string): HTMLIFrameElement {
  const frame = doc.createElement('iframe');
  frame.className = 'viewer__frame';
  frame.tabIndex = -1;
  frame.setAttribute('sandbox', 'allow-scripts allow-same-origin');
  frame.setAttribute('allow', "focus-without-user-activation 'none'");
  frame.src = `${origin}/${VIEWER_PAGE}?shell=${encodeURIComponent(shellOrigin)}`;
  return frame;
}

/** Whether this browser moves a frame to another parent without reloading it. */
export const movesFramesWhole = (doc: Document): boolean => typeof (doc.body as Element & { moveBefore?: unknown }).moveBefore === 'function';

/**
 * Makes a frame for each of `origins` in a hidden pool of `win`'s document (for the
 * origins found later: `origins` may be a promise).
 */
export function createEarlyViewerFrames(win: Window, origins: Promise<string[]>): EarlyViewerFrames {
  const doc = win.document;
  const shellOrigin = win.location.origin;
  const frames = new Map<string, { frame: HTMLIFrameElement; loaded: boolean; ready: boolean }>();
  let closed = false;
  const pool = doc.createElement('div');
  pool.className = 'early-viewers';
  pool.setAttribute('aria-hidden', 'true');
  // Hidden by its own style too, should the style sheet not be there yet (styles.css says the same).
  Object.assign(pool.style, { position: 'fixed', inset: '0', visibility: 'hidden', pointerEvents: 'none', zIndex: '-1' });
  const onMessage = (ev: MessageEvent) => {
    for (const [origin, entry] of frames) {
      if (ev.origin !== origin || ev.source !== entry.frame.contentWindow) continue;
      const parsed = viewerToShellSchema.safeParse(ev.data);
      if (parsed.success && parsed.data.type === 'ready') entry.ready = true;
    }
  };
  void origins.then(
    (list) => {
      if (closed || list.length === 0) return;
      markOnce('cloison:early-frames');
      win.addEventListener('message', onMessage);
      doc.body.appendChild(pool);
      for (const origin of list) {
        const frame = makeViewerFrame(doc, origin, shellOrigin);
        const entry = { frame, loaded: false, ready: false };
        frame.addEventListener('load', () => (entry.loaded = true), { once: true });
        frames.set(origin, entry);
        pool.appendChild(frame);
      }
    },
    () => undefined,
  );
  return {
    has: (origin) => frames.has(origin),
    claim(origin) {
      const entry = frames.get(origin);
      if (!entry) return null;
      frames.delete(origin); // moved out of the pool by its viewer at once
      return { ...entry };
    },
    dropUnclaimed() {
      closed = true;
      for (const { frame } of frames.values()) frame.remove();
      frames.clear();
      win.removeEventListener('message', onMessage);
      pool.remove();
    },
  };
}

/**
 * The browser host's early frames: the origins read from the page's own Content-Security-Policy
 * header (a HEAD of its address, beside the RPC link's opening). None in Electron (its viewers'
 * origins name their levels, known only from the supervisor) or without `moveBefore`.
 */
export function startEarlyViewerFrames(win: Window): EarlyViewerFrames {
  if ((win as unknown as { cloison?: unknown }).cloison || !movesFramesWhole(win.document)) return NO_EARLY_FRAMES;
  const origins = win
    .fetch(`${win.location.origin}/`, { method: 'HEAD', cache: 'no-store', credentials: 'omit' })
    .then((res) => (res.ok ? viewerOriginsFromCsp(res.headers.get('content-security-policy') ?? '', win.location.origin) : []));
  return createEarlyViewerFrames(win, origins);
}
