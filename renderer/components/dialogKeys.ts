/**
 * One keyboard behaviour for every trusted surface of the shell — its dialogs, the trusted overview,
 * the band's menus (issue #26): before it, six of them handled Escape each its own way and the
 * transfer dialog not at all, although it says « Fermer (Échap) ».
 *
 * - The focus moves into the surface when it opens (onto the control its `autoFocus` names, else
 *   the surface itself), so the keys typed next are the surface's. They never reached a cage while
 *   it was open anyway: the stage hands no key to any level while a trusted surface is up
 *   (inputSuspended in shellStore.ts, stageKeyboard.ts) and shortcutCapture.ts swallows what is aimed
 *   at a cage meanwhile.
 * - Escape does what the surface says it does (close, refuse, cancel); only the topmost surface
 *   hears it. A surface may give no Escape (the first trust phrase, which cannot be skipped), or one
 *   that waits for the surface's arming delay (useArmedAfter.ts) as its buttons do.
 * - Tab and Shift+Tab go round the surface's controls: the focus cannot walk out of it onto the band
 *   or the stage behind.
 * - When it closes, the focus goes back to the surface below it, else to where it was before it
 *   opened; the cage in front then has the keyboard again without a click (CageViewer gives the
 *   stage the focus as its level gets the input back; keys typed before the supervisor has heard
 *   are held by the stage, then sent: stageKeyboard.ts).
 *
 * Enter is left alone: it does what the focused control does. A confirmation that moves data
 * between levels opens with the focus on Refuse and ignores everything for its first 500 ms, so a
 * key meant for a cage cannot accept it (ConfirmDialog.tsx).
 */
import { useEffect, useRef, type RefObject } from 'react';

export interface DialogKeysOptions {
  /** What Escape does; none: Escape does nothing (and goes nowhere else). */
  onEscape?: (() => void) | null;
}

interface OpenSurface {
  container: HTMLElement;
  options: { current: DialogKeysOptions };
}

/** The surfaces open now, the topmost last. */
const openSurfaces: OpenSurface[] = [];
const listening = new WeakSet<Window>();

const TABBABLE = 'button, input, select, textarea, a[href], [tabindex]';

/** The controls Tab visits inside `container`, in document order. */
export function tabbables(container: HTMLElement): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(TABBABLE)].filter((el) => {
    if (el.tabIndex < 0 || (el as HTMLButtonElement).disabled || (el as HTMLInputElement).type === 'hidden') return false;
    if (el.closest('[hidden], [inert]')) return false;
    // A radio button not checked is reached by the arrows, not by Tab (one of its group is).
    if (el instanceof HTMLInputElement && el.type === 'radio' && !el.checked && el.name) {
      const group = [...container.querySelectorAll<HTMLInputElement>('input[type="radio"]')].filter((r) => r.name === el.name);
      if (group.some((r) => r.checked)) return false;
    }
    return true;
  });
}

function onKeyDown(event: KeyboardEvent): void {
  const top = openSurfaces.at(-1);
  if (!top || event.isComposing) return;
  const { container } = top;
  if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    if (!event.repeat) top.options.current.onEscape?.();
    return;
  }
  if (event.key !== 'Tab' || event.altKey || event.ctrlKey || event.metaKey) return;
  const doc = container.ownerDocument;
  const active = doc.activeElement as HTMLElement | null;
  const controls = tabbables(container);
  const inside = !!active && container.contains(active);
  if (controls.length === 0) {
    event.preventDefault();
    container.focus({ preventScroll: true });
    return;
  }
  const first = controls[0]!;
  const last = controls.at(-1)!;
  let next: HTMLElement | null = null;
  if (!inside) next = event.shiftKey ? last : first;
  else if (event.shiftKey && (active === first || active === container)) next = last;
  else if (!event.shiftKey && active === last) next = first;
  if (next) {
    event.preventDefault();
    next.focus({ preventScroll: true });
  }
}

/**
 * Opens `container` as a trusted surface (the plain-DOM part of useDialogKeys, tested on its own):
 * the focus moves in, Escape and Tab are handled while it is the topmost; the function returned
 * closes it and sends the focus back.
 */
export function openDialogKeys(container: HTMLElement, options: { current: DialogKeysOptions }): () => void {
  const doc = container.ownerDocument;
  const win = doc.defaultView!;
  if (!listening.has(win)) {
    // Capture on the window: heard wherever the focus is (a field, the surface, the stage behind).
    win.addEventListener('keydown', onKeyDown, { capture: true });
    listening.add(win);
  }
  const before = doc.activeElement instanceof win.HTMLElement ? doc.activeElement : null;
  const surface: OpenSurface = { container, options };
  openSurfaces.push(surface);
  if (!container.hasAttribute('tabindex')) container.tabIndex = -1;
  // A control it focused itself (autoFocus) keeps the focus; else the surface takes it.
  if (!container.contains(doc.activeElement)) container.focus({ preventScroll: true });
  return () => {
    const at = openSurfaces.indexOf(surface);
    if (at >= 0) openSurfaces.splice(at, 1);
    const active = doc.activeElement;
    const hadFocus = !active || active === doc.body || container.contains(active) || !active.isConnected;
    if (!hadFocus) return;
    const below = openSurfaces.at(-1);
    if (below) {
      if (!below.container.contains(doc.activeElement)) below.container.focus({ preventScroll: true });
    } else if (before?.isConnected && !container.contains(before)) before.focus({ preventScroll: true });
  };
}

/**
 * The hook: `ref` is the surface's outermost element, open while `open` is true (and the element
 * rendered). `options` is read when a key comes, so it may change at each render.
 */
export function useDialogKeys(ref: RefObject<HTMLElement | null>, options: DialogKeysOptions, open = true): void {
  const current = useRef(options);
  current.current = options;
  useEffect(() => {
    const el = ref.current;
    if (!open || !el) return;
    return openDialogKeys(el, current);
  }, [open, ref]);
}

/** For tests: no surface is open (each test starts clean). */
export function openSurfaceCount(): number {
  return openSurfaces.length;
}
