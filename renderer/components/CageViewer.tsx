/**
 * One cage's display: a frame of the cage's own viewer origin (one per level, so site isolation
 * gives each its own renderer process) in a box the shell clips. That frame alone parses the cage's
 * bytes, and it holds only its own one-time ticket, handed over here; this page never parses a
 * cage byte and keeps every authority (RPC, dialogs, the other cage).
 *
 * The frame never gets the keyboard or the pointer: it is inert (pointer-events: none, no tab
 * stop) under an input surface of this page, which takes clicks, and the stage (stageKeyboard.ts)
 * keeps the focus; key and pointer events go to the frame only while its cage is in front — after
 * the shortcuts and the secure-attention key were taken at the window (trusted path, property 3).
 * The gateway enforces the same independently. The cage's desktop name is never read.
 *
 * A frame that takes the keyboard focus anyway (frameFocusGuard.ts: a viewer page taken over) loses
 * it at once and is unloaded, the supervisor told; it is loaded again after a back-off, and left
 * unloaded, saying so, after MAX_FOCUS_GRABS (the user may still reconnect it).
 *
 * A viewer that stops again and again (a hostile cage crashing or hanging each new frame) gets its
 * next frame after a back-off (viewerRetry.ts): meanwhile no frame is loaded, its overlay, the band
 * and the overview say the level's display is being retried, and the user may reconnect it now.
 * A viewer still connecting VIEWER_CONNECT_MS after its ticket (viewerConnectDeadline.ts: its cage's
 * display does not answer as it should) is loaded again the same way, its overlay saying so.
 * A viewer whose connection ended unreachable (a display that speaks a version no client knows)
 * connects again a second later, then after the same back-off (handshake-12b), its overlay saying
 * when; the back-off starts again after a connection that lasted, or the user's Reconnect. A ticket
 * the supervisor refuses (the cage stopped or restarting, the supervisor says no) waits the same way
 * (it used to be asked again every second for as long as it lasted); when the supervisor says the
 * level runs again, the ticket is asked at once and the back-off starts again.
 */
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type MouseEvent as ReactMouseEvent, type PointerEvent as ReactPointerEvent, type WheelEvent as ReactWheelEvent } from 'react';
import { viewerToShellSchema, VIEWER_PAGE, type ShellToViewer, type ViewerPlace } from '../../shared/viewerProtocol';
import { createDeadKeyComposer, type DeadKeyComposer } from '../keyboard/deadKeyComposer';
import type { FrameFocusGuard } from '../keyboard/frameFocusGuard';
import { useShell, useShellState } from '../shellContext';
import type { StageKeys } from './CageStage';
import { useFrameSizeReport } from './useFrameSizeReport';
import { markOnce } from './earlyViewerFrames';
import { createViewerRetry, nextAfterUnreachable } from './viewerRetry';
import { createViewerWatch, PING_INTERVAL_MS } from './viewerWatch';
import { createViewerConnectDeadline } from './viewerConnectDeadline';

/**
 * 'stopped': the viewer's renderer crashed or hangs (viewerWatch.ts); its frame is being loaded again.
 * 'grabbed': its frame took the keyboard focus and was unloaded, loaded again after a back-off;
 * 'withheld': it did so MAX_FOCUS_GRABS times and stays unloaded until the user reconnects it.
 * 'retrying': it stopped again and again; unloaded until its back-off ends (viewerRetry.ts).
 * 'silent': it was still connecting past its deadline (viewerConnectDeadline.ts): its cage's display
 * does not answer as it should; its frame is being loaded again. 'silent-retrying': so again and
 * again; unloaded until its back-off ends.
 * 'unreachable-retrying': its connection ended unreachable again and again; it connects again when
 * its back-off ends (viewerRetry.ts), its frame kept meanwhile.
 */
export type ViewerState = 'idle' | 'connecting' | 'connected' | 'unreachable' | 'unreachable-retrying' | 'stopped' | 'grabbed' | 'withheld' | 'retrying' | 'silent' | 'silent-retrying';

interface Props {
  level: string;
  front: boolean;
  /** Where the stage shows it: the viewer's decoding budget follows (none while hidden). */
  place: ViewerPlace;
  onViewerState(state: ViewerState): void;
  /** Called for a bell from the cage, at most once per BELL_INTERVAL_MS. */
  onBell(): void;
  /** Raised by the user (the frame's reconnect button): the viewer's frame is loaded again now. */
  reloads?: number;
  /** The stage's keyboard: it hands this viewer the keys typed while its level is in front. */
  keyboard: StageKeys;
  /** Tells this viewer when its frame took the keyboard focus (null until the stage installed it). */
  focusGuard: FrameFocusGuard | null;
}

/** A ticket asked for while its frame loads: for that frame (generation/restarts) only, with when it came. */
interface TicketAhead {
  key: string;
  ticket: Promise<{ ticket: string; path: string; expiresInMs: number; at: number }>;
}
/** A cage may ring at most this often: a bell storm cannot flood the shell. */
export const BELL_INTERVAL_MS = 1000;
/** A frame that took the focus this many times stays unloaded; before, it is loaded again after a back-off. */
export const MAX_FOCUS_GRABS = 3;
const FOCUS_GRAB_BACKOFF_MS = 2000;

export function CageViewer({ level, front, place, onViewerState, onBell, reloads = 0, keyboard, focusGuard }: Props) {
  const { api, store, earlyFrames, firstTickets } = useShell();
  const status = useShellState((s) => s.cages[level]?.status);
  const restarts = useShellState((s) => s.cages[level]?.restarts ?? 0);
  const frame = useRef<HTMLIFrameElement | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const surface = useRef<HTMLDivElement>(null);
  const [attempt, setAttempt] = useState(0);
  // The viewer page said it listens (its frame's load event may be the initial about:blank's):
  // a count, so a viewer page that loads again is handed a new ticket.
  const [ready, setReady] = useState(0);
  const loaded = ready > 0;
  const lastBell = useRef(0);
  // A new frame (a new renderer process if the old one died) each time the viewer is loaded again.
  const [generation, setGeneration] = useState(0);
  const watch = useRef(createViewerWatch());
  /** The viewer stopped and was loaded again: its frame says so until it is connected again. */
  const stopped = useRef(false);
  /** Times its frame took the keyboard focus; while `unloaded`, no frame is shown at all. */
  const grabs = useRef(0);
  const [unloaded, setUnloaded] = useState(false);
  const unloadedRef = useRef(unloaded);
  unloadedRef.current = unloaded;
  /** Its back-off after stops in a row, and the wait under way (unloaded meanwhile). */
  const retry = useRef(createViewerRetry());
  const retryWait = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** Its ticket handed over, not connected yet: how long it may take. */
  const deadline = useRef(createViewerConnectDeadline());
  /** It was loaded again for connecting past its deadline: its frame says so until it connects. */
  const silent = useRef(false);
  /** Its connection ended unreachable, or its ticket was refused: when it connects again (a second, then the back-off). */
  const unreachableWait = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** Its last ticket was refused: the back-off starts again when the supervisor says the level runs. */
  const refused = useRef(false);
  const shown = (state: ViewerState): ViewerState =>
    unloadedRef.current
      ? retryWait.current
        ? silent.current
          ? 'silent-retrying'
          : 'retrying'
        : grabs.current >= MAX_FOCUS_GRABS
          ? 'withheld'
          : 'grabbed'
      : silent.current
        ? 'silent'
        : stopped.current
          ? 'stopped'
          : state;
  const viewerOrigin = api.viewerOrigin(level);
  // The generation whose frame is the one made as the page started (earlyViewerFrames.ts), if any:
  // that frame is claimed and moved in, not made here.
  const [early, setEarly] = useState<number | null>(() => (earlyFrames?.has(viewerOrigin) ? 0 : null));
  const frontRef = useRef(front);
  frontRef.current = front;
  const placeRef = useRef(place);
  placeRef.current = place;
  useFrameSizeReport(level, surface, status);

  const post = (message: ShellToViewer) => {
    if (loaded) frame.current?.contentWindow?.postMessage(message, viewerOrigin);
  };
  const postRef = useRef(post);
  postRef.current = post;
  // Dead keys composed here, by the browser (deadKeyComposer.ts): the cage gets ê, not e.
  const composer = useRef<DeadKeyComposer | null>(null);
  composer.current ??= createDeadKeyComposer((m) => postRef.current({ type: 'key', ...m }));

  // What the viewer says is its own frame's business: state for the overlay, bells rate-limited.
  useEffect(() => {
    const onMessage = (ev: MessageEvent) => {
      if (ev.origin !== viewerOrigin || ev.source !== frame.current?.contentWindow) return;
      const parsed = viewerToShellSchema.safeParse(ev.data);
      if (!parsed.success) return;
      watch.current.heard();
      if (parsed.data.type === 'pong') return;
      if (parsed.data.type === 'ready') {
        markOnce(`cloison:ready:${level}`);
        setReady((n) => n + 1);
        return;
      }
      if (parsed.data.type === 'bell') {
        const now = Date.now();
        if (now - lastBell.current < BELL_INTERVAL_MS) return;
        lastBell.current = now;
        onBell();
        return;
      }
      if (parsed.data.state !== 'connecting') deadline.current.ended();
      if (parsed.data.state === 'connected') {
        markOnce(`cloison:connected:${level}`);
        stopped.current = false;
        silent.current = false;
        retry.current.connected();
      }
      if (parsed.data.state === 'unreachable') return afterUnreachableRef.current();
      onViewerState(shown(parsed.data.state));
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [viewerOrigin, onBell, onViewerState]);

  // The frame made early for this level's origin — the supervisor's, so this level's only — is
  // claimed once its listener above is there: moved into this box whole (its document and process
  // kept), then this viewer's as any frame it makes. What it did unclaimed counts: loaded, ready.
  // Gone with its generation: a frame loaded again is made here.
  useEffect(() => {
    if (early === null || early !== generation || unloaded) return;
    const got = earlyFrames?.claim(viewerOrigin) ?? null;
    const at = box.current;
    if (!got || !at || !surface.current) {
      got?.frame.remove();
      setEarly(null);
      return;
    }
    const el = got.frame;
    el.title = level;
    el.dataset.testid = `viewer-frame-${level}`;
    el.dataset.generation = String(generation);
    el.dataset.early = 'true'; // made as the page started (what the tests look for)
    at.moveBefore(el, surface.current);
    frame.current = el;
    const onLoad = () => watch.current.loaded();
    el.addEventListener('load', onLoad);
    if (got.loaded) watch.current.loaded();
    if (got.ready) {
      markOnce(`cloison:ready:${level}`);
      watch.current.heard();
      setReady((n) => n + 1);
    }
    return () => {
      el.removeEventListener('load', onLoad);
      el.remove();
      if (frame.current === el) frame.current = null;
    };
  }, [early, generation, unloaded, earlyFrames, viewerOrigin, level]);

  // The frame's first ticket is asked for while its page still loads (a new renderer process, noVNC:
  // hundreds of ms at a start), not once it says ready: the supervisor's round trip then overlaps
  // the load. It is kept in this page for that frame only (its generation, the cage's restarts) and
  // handed over as any ticket; one older than half its life when the frame is ready is dropped
  // unused (it expires in the supervisor) and a new one asked for.
  const ahead = useRef<TicketAhead | null>(null);
  useEffect(() => {
    if (status !== 'running' || unloaded || loaded) return;
    const key = `${generation}/${restarts}`;
    if (ahead.current?.key === key) return;
    // The first frame's may have been asked for as the session was described (firstTickets.ts).
    const first = generation === 0 ? (firstTickets?.take(level, restarts) ?? null) : null;
    const asked = first ?? api.call('vnc.ticket', { level }).then((t) => ({ ...t, at: Date.now() }));
    asked.catch(() => undefined); // taken only when its frame is ready; a failure then asks again
    ahead.current = { key, ticket: asked };
  }, [api, level, status, restarts, generation, unloaded, loaded, firstTickets]);

  // A ticket per connection, handed to this cage's frame only.
  useEffect(() => {
    if (status !== 'running' || !loaded) {
      deadline.current.ended();
      onViewerState(shown('idle'));
      return;
    }
    let cancelled = false;
    onViewerState(shown('connecting'));
    const mine = ahead.current?.key === `${generation}/${restarts}` ? ahead.current.ticket : null;
    ahead.current = null; // once: a second connection of the same frame asks for its own
    const fresh = () => api.call('vnc.ticket', { level });
    const ticketNow = mine
      ? mine.then(
          (t) => (Date.now() - t.at < t.expiresInMs / 2 ? t : fresh()),
          () => fresh(),
        )
      : fresh();
    void ticketNow
      .then(({ ticket, path }) => {
        if (cancelled) return;
        refused.current = false;
        post({ type: 'input', enabled: frontRef.current });
        post({ type: 'place', place: placeRef.current });
        markOnce(`cloison:open:${level}`);
        post({ type: 'open', url: api.vncUrl(path, level, ticket) });
        deadline.current.opened();
      })
      .catch(() => {
        if (cancelled) return;
        deadline.current.ended();
        // Refused (the cage stopped or restarting, the supervisor says no): asked again as an
        // unreachable display is, a second later then after the back-off — not every second for ever.
        refused.current = true;
        afterUnreachableRef.current();
      });
    return () => {
      cancelled = true;
    };
    // `front` is deliberately not a dependency: the effect below applies it without reconnecting.
  }, [api, level, status, restarts, attempt, ready]);

  // A viewer that crashed or hangs answers nothing: its frame is replaced by a new one, which
  // gets a new ticket when it says it is ready. The trusted page never waits for it. A frame
  // still loading is given longer (viewerWatch.ts): replacing it would only start its load again.
  const reload = (why: 'stopped' | 'silent' | 'asked' | 'grab-backoff' | 'retry') => {
    if (unloadedRef.current && (why === 'stopped' || why === 'silent')) return; // no frame to watch
    deadline.current.ended();
    endUnreachableWait();
    if (why === 'silent') silent.current = true;
    else if (why !== 'retry') silent.current = false; // a retry goes on with what it retries
    const wait = why === 'stopped' || why === 'silent' ? retry.current.stopped() : 0;
    if (why === 'asked') retry.current.reset();
    endRetryWait();
    if (wait > 0) return waitBeforeReload(wait);
    stopped.current = why === 'stopped' || why === 'retry' || stopped.current;
    unloadedRef.current = false;
    setUnloaded(false);
    watch.current.loading();
    setReady(0);
    setGeneration((g) => g + 1);
    onViewerState(shown('connecting'));
  };
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  // Stopped again soon after the last time: no frame until the back-off ends, and said so.
  const waitBeforeReload = (ms: number) => {
    stopped.current = true;
    unloadedRef.current = true;
    setUnloaded(true);
    setReady(0);
    retryWait.current = setTimeout(() => reloadRef.current('retry'), ms);
    store.getState().setViewerRetry(level, Date.now() + ms);
    onViewerState(shown('idle'));
  };
  /** A pending wait (a new frame, or a new connection) ended, and the band's "retrying in" with it. */
  const endWait = (wait: { current: ReturnType<typeof setTimeout> | null }) => {
    if (!wait.current) return;
    clearTimeout(wait.current);
    wait.current = null;
    store.getState().setViewerRetry(level, null);
  };
  const endRetryWait = () => endWait(retryWait);
  const endRetryWaitRef = useRef(endRetryWait);
  endRetryWaitRef.current = endRetryWait;
  useEffect(() => () => endRetryWaitRef.current(), []);
  // Its connection ended unreachable: it connects again (a new ticket, same frame) a second later
  // the first time, then after the back-off, its overlay and the band saying when.
  const afterUnreachable = () => {
    endUnreachableWait();
    const { waitMs, backingOff } = nextAfterUnreachable(retry.current);
    unreachableWait.current = setTimeout(() => {
      unreachableWait.current = null;
      if (backingOff) store.getState().setViewerRetry(level, null);
      setAttempt((a) => a + 1);
    }, waitMs);
    if (backingOff) store.getState().setViewerRetry(level, Date.now() + waitMs);
    onViewerState(backingOff ? 'unreachable-retrying' : shown('unreachable'));
  };
  const afterUnreachableRef = useRef(afterUnreachable);
  afterUnreachableRef.current = afterUnreachable;
  const endUnreachableWait = () => endWait(unreachableWait);
  const endUnreachableWaitRef = useRef(endUnreachableWait);
  endUnreachableWaitRef.current = endUnreachableWait;
  // Gone, or its cage restarted or stopped (that connects it anew): no attempt left pending.
  useEffect(() => () => endUnreachableWaitRef.current(), [status, restarts]);
  // Its tickets were refused and the supervisor now says the level runs: the ticket effect asks at
  // once, and a refusal after that waits a second again, not the back-off reached meanwhile.
  useEffect(() => {
    if (status !== 'running' || !refused.current) return;
    refused.current = false;
    retry.current.reset();
  }, [status, restarts]);
  useEffect(() => {
    const timer = setInterval(() => {
      if (watch.current.stopped()) reloadRef.current('stopped');
      else if (deadline.current.overdue()) reloadRef.current('silent');
      else postRef.current({ type: 'ping' });
    }, PING_INTERVAL_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    if (reloads > 0) reloadRef.current('asked');
  }, [reloads]);

  // Its frame took the keyboard focus (the guard has taken it back): the frame is unloaded now,
  // the supervisor journals it, and it comes back after a back-off, or not after MAX_FOCUS_GRABS.
  const onFocusGrab = () => {
    if (unloadedRef.current) return;
    deadline.current.ended();
    grabs.current += 1;
    unloadedRef.current = true;
    setUnloaded(true);
    setReady(0);
    onViewerState(shown('idle'));
    void api.call('viewer.focusTaken', { level, grabs: grabs.current }).catch(() => undefined);
    if (grabs.current < MAX_FOCUS_GRABS) setTimeout(() => reloadRef.current('grab-backoff'), FOCUS_GRAB_BACKOFF_MS * 2 ** (grabs.current - 1));
  };
  const onFocusGrabRef = useRef(onFocusGrab);
  onFocusGrabRef.current = onFocusGrab;
  useEffect(() => {
    const el = frame.current;
    if (!focusGuard || !el) return;
    const stop = focusGuard.watch(el, () => onFocusGrabRef.current());
    focusGuard.check();
    return stop;
  }, [focusGuard, generation, unloaded, early]);

  // Told as the switch is committed, before its frame is painted: a viewer leaving the front
  // stops decoding before the trusted page draws the switch.
  useLayoutEffect(() => {
    post({ type: 'place', place });
  }, [place, loaded]);

  // The stage keeps the focus across a switch (no focus moved, no layout forced); it takes it back
  // when a trusted surface (overview, dialog) gave it up.
  useEffect(() => {
    post({ type: 'input', enabled: front });
    composer.current?.reset();
    if (front) keyboard.focus();
  }, [front, loaded, keyboard]);

  const modifiers = (e: { ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }) => ({ ctrl: e.ctrlKey, alt: e.altKey, shift: e.shiftKey, meta: e.metaKey });
  const onKey = (e: ReactKeyboardEvent<HTMLElement>) => {
    if (!front) return;
    const n = e.nativeEvent;
    const type = n.type === 'keydown' ? 'keydown' : n.type === 'keyup' ? 'keyup' : 'keypress';
    const letBe = composer.current!.handle({ type, key: n.key.slice(0, 32), code: n.code.slice(0, 32), keyCode: n.keyCode & 0xff, location: n.location, repeat: n.repeat, ...modifiers(n), altGraph: n.getModifierState('AltGraph') });
    // The cage's key, not the page's: no scrolling, no browser action — except the keydown ending
    // a dead key's composition, whose cancelling would cancel the keypress carrying the character.
    if (!letBe) e.preventDefault();
  };
  const onKeyRef = useRef(onKey);
  onKeyRef.current = onKey;
  useEffect(() => keyboard.register(level, (e) => onKeyRef.current(e)), [keyboard, level]);
  // Mouse events carry whole CSS pixels; at a pixel ratio of 2 that is every other screen pixel,
  // and half a cage's pixels could not be pointed at. The pointer event just before each mouse
  // event has the same point with its fraction: that one is used when it matches.
  const precise = useRef<{ clientX: number; clientY: number } | null>(null);
  const onPrecisePoint = (e: ReactPointerEvent<HTMLDivElement>) => {
    precise.current = { clientX: e.clientX, clientY: e.clientY };
  };
  const at = (e: { clientX: number; clientY: number }) => {
    const box = surface.current!.getBoundingClientRect();
    const p = precise.current;
    const fine = p && Math.abs(p.clientX - e.clientX) < 1 && Math.abs(p.clientY - e.clientY) < 1 ? p : e;
    return { x: fine.clientX - box.left, y: fine.clientY - box.top };
  };
  const onPointer = (e: ReactMouseEvent<HTMLDivElement>) => {
    if (!front) return;
    if (e.type === 'mousedown') keyboard.focus();
    post({ type: 'pointer', event: e.type as 'mousedown' | 'mouseup' | 'mousemove', ...at(e), button: e.button, buttons: e.buttons, ...modifiers(e) });
  };
  const onWheel = (e: ReactWheelEvent<HTMLDivElement>) => {
    if (!front) return;
    post({ type: 'wheel', ...at(e), deltaX: e.deltaX, deltaY: e.deltaY, deltaMode: e.deltaMode });
  };

  const src = `${viewerOrigin}/${VIEWER_PAGE}?shell=${encodeURIComponent(window.location.origin)}`;
  return (
    <div ref={box} className="viewer" data-testid={`viewer-${level}`}>
      {unloaded || early === generation ? null : (
        <iframe
          key={generation}
          ref={frame}
          className="viewer__frame"
          src={src}
          title={level}
          tabIndex={-1}
          sandbox="allow-scripts allow-same-origin"
          // No focus without a user's gesture in the frame (none ever comes: the frame takes no
          // pointer event); the guard checks it anyway.
          allow="focus-without-user-activation 'none'"
          data-testid={`viewer-frame-${level}`}
          data-generation={generation}
          onLoad={() => watch.current.loaded()}
        />
      )}
      <div
        ref={surface}
        className="viewer__input"
        data-input-surface={level}
        onPointerDown={onPrecisePoint}
        onPointerUp={onPrecisePoint}
        onPointerMove={onPrecisePoint}
        onMouseDown={onPointer}
        onMouseUp={onPointer}
        onMouseMove={onPointer}
        onWheel={onWheel}
        onContextMenu={(e) => e.preventDefault()}
      />
    </div>
  );
}
