/**
 * No frame of the trusted page may hold the keyboard focus. A viewer frame never needs it: its keys
 * come from the stage (stageKeyboard.ts) and its pointer events from an input surface of this page
 * laid over it (the frame itself takes no pointer event). A frame found holding the focus has taken
 * it — a viewer page taken over by a hostile RFB server calling window.focus() — and would receive
 * every key typed for the level in front, the secure-attention key and a trusted dialog's keys.
 *
 * The browser is asked to refuse such a focus (the frame's `allow="focus-without-user-activation
 * 'none'"` and, in Electron, Blink's BlockingFocusWithoutUserActivation); this guard is the check that does not
 * depend on it: the moment the top window loses the focus to one of its frames, or a frame is its
 * active element, the focus is taken back to the element of this page that had it last (else the
 * stage), and the frame's watcher is told (its viewer is unloaded, the supervisor journals it).
 */

export interface FrameFocusGuard {
  /** Calls `onGrab` each time `frame` is found holding the focus, after the focus was taken back. */
  watch(frame: HTMLIFrameElement, onGrab: () => void): () => void;
  /** Looks now (the window's blur and focus events look by themselves). */
  check(): void;
  stop(): void;
}

/** A backstop for a focus taken while the window itself had none (no blur comes then). */
export const FRAME_FOCUS_POLL_MS = 250;

export function createFrameFocusGuard(win: Window, stage: () => HTMLElement | null): FrameFocusGuard {
  const doc = win.document;
  const watchers = new Map<HTMLIFrameElement, () => void>();
  /** The last element of this page that had the focus: a trusted dialog's field gets it back. */
  let lastOwn: HTMLElement | null = null;

  const isFrame = (el: Element | null): el is HTMLIFrameElement => !!el && (el.tagName === 'IFRAME' || el.tagName === 'FRAME');
  const takeBack = () => {
    const target = lastOwn?.isConnected ? lastOwn : stage();
    target?.focus({ preventScroll: true });
    // Nothing focusable left: the frame at least loses it.
    if (isFrame(doc.activeElement)) (doc.activeElement as HTMLElement).blur();
  };
  const check = () => {
    const active = doc.activeElement;
    if (!isFrame(active)) return;
    takeBack();
    watchers.get(active as HTMLIFrameElement)?.();
  };
  const onFocusIn = (e: FocusEvent) => {
    const target = e.target as Element | null;
    if (target && !isFrame(target) && target !== doc.body && 'focus' in target) lastOwn = target as HTMLElement;
    else check();
  };
  // The top window's blur comes as the focus moves into a child frame; its activeElement may be
  // set just after: looked at now and once more in the next task.
  const onBlur = () => {
    check();
    win.setTimeout(check, 0);
  };
  win.addEventListener('blur', onBlur, true);
  win.addEventListener('focus', check, true);
  doc.addEventListener('focusin', onFocusIn, true);
  const poll = win.setInterval(check, FRAME_FOCUS_POLL_MS);
  return {
    watch(frame, onGrab) {
      watchers.set(frame, onGrab);
      return () => {
        if (watchers.get(frame) === onGrab) watchers.delete(frame);
      };
    },
    check,
    stop() {
      win.removeEventListener('blur', onBlur, true);
      win.removeEventListener('focus', check, true);
      doc.removeEventListener('focusin', onFocusIn, true);
      win.clearInterval(poll);
      watchers.clear();
    },
  };
}
