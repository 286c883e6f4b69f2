/**
 * Keyboard shortcut parsing and matching, shared by the renderer's capture listener and Electron's
 * before-input-event handler so both catch exactly the same chords.
 */
export interface Chord {
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  meta: boolean;
  /** KeyboardEvent.key, case-folded (e.g. "pagedown", "f12", "l"). */
  key: string;
}

const MODIFIERS = new Set(['ctrl', 'control', 'alt', 'shift', 'meta', 'super']);

export function parseChord(text: string): Chord {
  const parts = text.split('+').map((p) => p.trim().toLowerCase()).filter(Boolean);
  const key = parts.at(-1);
  if (!key || MODIFIERS.has(key)) throw new Error(`shortcut "${text}" has no key after its modifiers`);
  const mods = new Set(parts.slice(0, -1));
  for (const m of mods) if (!MODIFIERS.has(m)) throw new Error(`shortcut "${text}": unknown modifier "${m}"`);
  return {
    ctrl: mods.has('ctrl') || mods.has('control'),
    alt: mods.has('alt'),
    shift: mods.has('shift'),
    meta: mods.has('meta') || mods.has('super'),
    key,
  };
}

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
  metaKey?: boolean;
  /** Electron's input event spells them without "Key". */
  control?: boolean;
  alt?: boolean;
  shift?: boolean;
  meta?: boolean;
}

export function chordMatches(chord: Chord, ev: KeyLike): boolean {
  const ctrl = Boolean(ev.ctrlKey ?? ev.control);
  const alt = Boolean(ev.altKey ?? ev.alt);
  const shift = Boolean(ev.shiftKey ?? ev.shift);
  const meta = Boolean(ev.metaKey ?? ev.meta);
  return ev.key.toLowerCase() === chord.key && ctrl === chord.ctrl && alt === chord.alt && shift === chord.shift && meta === chord.meta;
}
