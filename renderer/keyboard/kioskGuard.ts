/**
 * In kiosk mode the page refuses the browser every way out it can see: the default action of the
 * kiosk chords (reload, devtools, zoom, close…), Ctrl+wheel and pinch zoom, the context menu, drag
 * and drop of files onto the shell. It only prevents the browser's default: the event still
 * travels on, so a cage in front still gets its Ctrl+S or Ctrl+W through noVNC.
 */
import { KIOSK_BLOCKED_CHORDS, ZOOM_KEYS } from '../../shared/kioskKeys';
import { chordMatches, parseChord } from '../../shared/shortcuts';

const CHORDS = KIOSK_BLOCKED_CHORDS.map((c) => parseChord(c));

function isBlocked(ev: KeyboardEvent): boolean {
  // Shift turns "=" into "+" on some layouts and not others: any Ctrl+zoom key is refused.
  if (ev.ctrlKey && (ZOOM_KEYS as readonly string[]).includes(ev.key)) return true;
  return CHORDS.some((c) => chordMatches(c, ev));
}

export function installKioskGuard(target: Window): () => void {
  const onKey = (ev: KeyboardEvent) => {
    if (isBlocked(ev)) ev.preventDefault();
  };
  const onWheel = (ev: WheelEvent) => {
    if (ev.ctrlKey) ev.preventDefault();
  };
  const prevent = (ev: Event) => ev.preventDefault();
  target.addEventListener('keydown', onKey, { capture: true });
  target.addEventListener('wheel', onWheel, { capture: true, passive: false });
  for (const type of ['contextmenu', 'dragover', 'drop', 'gesturestart']) target.addEventListener(type, prevent, { capture: true });
  return () => {
    target.removeEventListener('keydown', onKey, { capture: true });
    target.removeEventListener('wheel', onWheel, { capture: true });
    for (const type of ['contextmenu', 'dragover', 'drop', 'gesturestart']) target.removeEventListener(type, prevent, { capture: true });
  };
}

/** The browser host passes `kiosk=1` in the address fragment (with the launch token). */
export function kioskRequested(hash: string): boolean {
  return /(?:^#|&)kiosk=1(?:&|$)/.test(hash);
}
