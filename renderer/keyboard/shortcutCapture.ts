/**
 * Catches the shell's shortcuts in the capture phase on window, before noVNC's listeners on its
 * canvas see the key, and swallows both the keydown and its keyup so no cage receives them.
 */
import { chordMatches, parseChord, type Chord } from '../../shared/shortcuts';

export interface ShortcutBinding {
  chord: string;
  action: () => void;
}

export function installShortcutCapture(target: Window, bindings: ShortcutBinding[]): () => void {
  const parsed: Array<{ chord: Chord; action: () => void }> = bindings.map((b) => ({ chord: parseChord(b.chord), action: b.action }));
  const swallowUp = new Set<string>();
  const onDown = (ev: KeyboardEvent) => {
    for (const b of parsed) {
      if (!chordMatches(b.chord, ev)) continue;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      swallowUp.add(ev.code);
      if (!ev.repeat) b.action();
      return;
    }
  };
  const onUp = (ev: KeyboardEvent) => {
    if (!swallowUp.delete(ev.code)) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
  };
  target.addEventListener('keydown', onDown, { capture: true });
  target.addEventListener('keyup', onUp, { capture: true });
  return () => {
    target.removeEventListener('keydown', onDown, { capture: true });
    target.removeEventListener('keyup', onUp, { capture: true });
  };
}
