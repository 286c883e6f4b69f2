/**
 * Catches the shell's keys in the capture phase on window, before noVNC's listeners on its canvas
 * see them, and swallows both the keydown and its keyup so no cage receives them.
 *
 * - Shortcuts (switch level) match an exact chord.
 * - The secure-attention key matches its key in every modifier state (trusted path, property 3).
 * - While a trusted surface is open, every key is kept from the cages; keys aimed at the shell's
 *   own controls (the dialog's fields) go on to them.
 */
import { chordMatches, parseChord, type Chord } from '../../shared/shortcuts';

export interface ShortcutBinding {
  chord: string;
  action: () => void;
  /** Match the key whatever modifiers are held. */
  anyModifiers?: boolean;
  /** Match these keys (KeyboardEvent.key) and physical keys (KeyboardEvent.code) too. */
  alsoKeys?: readonly string[];
  alsoCodes?: readonly string[];
}

export interface CaptureOptions {
  bindings: ShortcutBinding[];
  /** While true, no key event reaches a cage's viewer. */
  suspended: () => boolean;
}

export function installShortcutCapture(target: Window, options: CaptureOptions): () => void {
  const parsed = options.bindings.map((b) => ({
    chord: parseChord(b.chord) as Chord,
    action: b.action,
    anyModifiers: b.anyModifiers ?? false,
    keys: (b.alsoKeys ?? []).map((k) => k.toLowerCase()),
    codes: b.alsoCodes ?? [],
  }));
  const matches = (b: (typeof parsed)[number], ev: KeyboardEvent) =>
    b.anyModifiers ? ev.key.toLowerCase() === b.chord.key || b.keys.includes(ev.key.toLowerCase()) || b.codes.includes(ev.code) : chordMatches(b.chord, ev);
  const swallowUp = new Set<string>();
  // A cage's input surface (CageViewer) or, in older layouts, a canvas: where keys go on to a cage.
  const isCageTarget = (ev: Event) => ev.target instanceof HTMLCanvasElement || (ev.target instanceof HTMLElement && ev.target.dataset.cageInput !== undefined);

  const onDown = (ev: KeyboardEvent) => {
    for (const b of parsed) {
      if (!matches(b, ev)) continue;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      swallowUp.add(ev.code);
      if (!ev.repeat) b.action();
      return;
    }
    if (options.suspended() && isCageTarget(ev)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  };
  const onUp = (ev: KeyboardEvent) => {
    if (swallowUp.delete(ev.code) || (options.suspended() && isCageTarget(ev))) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  };
  // A keypress carries the character a dead key composed (deadKeyComposer): kept from the cages alike.
  const onPress = (ev: KeyboardEvent) => {
    if (options.suspended() && isCageTarget(ev)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  };
  target.addEventListener('keydown', onDown, { capture: true });
  target.addEventListener('keyup', onUp, { capture: true });
  target.addEventListener('keypress', onPress, { capture: true });
  return () => {
    target.removeEventListener('keydown', onDown, { capture: true });
    target.removeEventListener('keyup', onUp, { capture: true });
    target.removeEventListener('keypress', onPress, { capture: true });
  };
}
