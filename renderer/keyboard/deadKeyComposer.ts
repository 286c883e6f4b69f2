/**
 * Dead keys for the cages, composed in the trusted page by the browser's own composer.
 *
 * Chromium on X reports a dead key as `key: "Dead"` (which one, it does not say), then the next
 * key's keydown with its base letter (`e`); the composed character (`ê`) comes only in the
 * keypress that follows. noVNC maps keys from keydown alone and has no keysym for "Dead", so `^`
 * then `e` reached the cage as `e`. Here the dead key is kept from the cage, the key that ends the
 * composition waits for its keypress, and the cage gets the composed character(s) — `ê`, or `^`
 * and `q` where the pair does not compose — as one press and release each. The browser composes
 * from the standard compose table (Chromium's is generated from libX11's en_US.UTF-8 Compose), as
 * for every field of the shell itself: the lock screen's password composes the same way.
 *
 * Chromium also drops the key releases it sees while composing (the dead key's, a Shift or an
 * AltGr let go meanwhile); a modifier the cage was told is down is released as soon as an event's
 * modifier state says it is up, so no Shift or AltGr stays stuck in the cage.
 */

/** A key event as the input surface sees it, and as the viewer protocol carries it. */
export interface KeyMessage {
  event: 'keydown' | 'keyup';
  key: string;
  code: string;
  keyCode: number;
  location: number;
  repeat: boolean;
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  meta: boolean;
}

/** A browser key event, reduced: its type, the message it would make, and AltGr's state. */
export interface KeyInput extends Omit<KeyMessage, 'event'> {
  type: 'keydown' | 'keyup' | 'keypress';
  altGraph: boolean;
}

/** How long the key ending a composition waits for its characters before it goes as itself. */
export const COMPOSED_CHARACTER_WAIT_MS = 50;

/** Which modifier flag says whether a held modifier key is still down. */
function modifierHeld(code: string, key: string, e: KeyInput): boolean | null {
  if (code.startsWith('Shift')) return e.shift;
  if (code.startsWith('Control')) return e.ctrl;
  if (code.startsWith('Meta') || code.startsWith('OS')) return e.meta;
  if (key === 'AltGraph') return e.altGraph;
  if (code.startsWith('Alt')) return e.alt;
  return null;
}

const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock', 'NumLock', 'ScrollLock', 'ISO_Level3_Shift', 'ISO_Level5_Shift']);

export interface DeadKeyComposer {
  /**
   * Takes one event. True when the event's default must be let be: the keydown that ends a
   * composition (cancelling it would cancel the keypress that carries the composed character).
   */
  handle(e: KeyInput): boolean;
  /** Forgets a composition under way (the cage left the front). */
  reset(): void;
}

export function createDeadKeyComposer(send: (m: KeyMessage) => void, timer: { set(fn: () => void, ms: number): unknown; clear(handle: unknown): void } = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) }): DeadKeyComposer {
  /** A dead key was pressed and the key that ends its composition has not come yet. */
  let composing = false;
  /** The key that ends a composition, waiting for the character(s) the browser makes of it. */
  let held: { input: KeyInput; sentCharacters: boolean; wait: unknown } | null = null;
  /** Keys the cage was told are down (code → the key it was told). */
  const down = new Map<string, KeyMessage>();
  /** Keys whose release the cage must not see (it never saw them pressed as themselves). */
  const swallowRelease = new Set<string>();

  const message = (e: Omit<KeyInput, 'type'>, event: 'keydown' | 'keyup'): KeyMessage => ({ event, key: e.key, code: e.code, keyCode: e.keyCode, location: e.location, repeat: e.repeat, ctrl: e.ctrl, alt: e.alt, shift: e.shift, meta: e.meta });
  const press = (m: KeyMessage) => {
    send(m);
    down.set(m.code, m);
  };
  const release = (m: KeyMessage) => {
    send({ ...m, event: 'keyup', repeat: false });
    down.delete(m.code);
  };
  const tap = (e: Omit<KeyInput, 'type'>) => {
    send(message(e, 'keydown'));
    send({ ...message(e, 'keyup'), repeat: false });
  };

  /** Releases, in the cage, modifiers this event says are up (the browser may have dropped their release). */
  const releaseLiftedModifiers = (e: KeyInput) => {
    for (const [code, m] of down) {
      if (code === e.code) continue;
      if (modifierHeld(code, m.key, e) === false) release(m);
    }
  };

  /** The held key's wait is over: if the browser made no character of it, it goes as itself. */
  const settle = () => {
    if (!held) return;
    timer.clear(held.wait);
    if (!held.sentCharacters) tap(held.input);
    held = null;
  };

  return {
    handle(e) {
      if (e.type === 'keypress') {
        if (!held || [...e.key].length !== 1) return false;
        // The character the browser composed (or one of the two it made of a pair that does not compose).
        tap({ ...held.input, key: e.key });
        held.sentCharacters = true;
        return false;
      }
      releaseLiftedModifiers(e);
      if (e.type === 'keyup') {
        if (held && held.input.code === e.code) settle();
        if (swallowRelease.delete(e.code)) return false;
        const m = down.get(e.code);
        if (m) release({ ...m, ...message(e, 'keyup') });
        else send(message(e, 'keyup'));
        return false;
      }
      settle();
      if (e.key === 'Dead') {
        // Kept from the cage: the browser composes it with the next key.
        composing = true;
        swallowRelease.add(e.code);
        return false;
      }
      if (composing && !MODIFIER_KEYS.has(e.key)) {
        composing = false;
        swallowRelease.add(e.code);
        if ([...e.key].length === 1) {
          held = { input: e, sentCharacters: false, wait: timer.set(settle, COMPOSED_CHARACTER_WAIT_MS) };
          return true;
        }
        // Escape, Backspace, arrows…: the composition is over, the key goes as itself.
        tap(e);
        return false;
      }
      press(message(e, 'keydown'));
      return false;
    },
    reset() {
      if (held) timer.clear(held.wait);
      held = null;
      composing = false;
    },
  };
}
