/**
 * The stage's keyboard: one element keeps the focus for every cage, and each key is handed to the
 * viewer of the level allowed input when the key comes (the level in front, none while a trusted
 * surface has the keyboard). A level switch then moves no focus: no focus events, no style and
 * layout forced inside the switch's keydown, and no window in which the focus is on the cage left.
 *
 * A key held down belongs to the level it went down in (by its physical code): its auto-repeats,
 * keypresses and release go to that level only while it still has the input, never to a level put
 * in front while the key was held (a click on the band does not end an auto-repeat). The level
 * left has nothing to release: its viewer lets every held key up when its input is turned off.
 */
export type KeyHandler<E> = (event: E) => void;

/** What routing reads of a key event (a React or DOM KeyboardEvent has it). */
export interface StageKey {
  type: string;
  code: string;
  repeat: boolean;
}

export interface StageKeyboard<E extends StageKey> {
  /** The element that holds the focus (the stage), set by its ref. */
  element: { current: HTMLElement | null };
  /** A viewer's key handler for its level; the returned function takes it back. */
  register(level: string, handler: KeyHandler<E>): () => void;
  /** A key on the stage: to the level allowed input, if any, else to no one. */
  route(level: string | null, event: E): void;
  /** Gives the stage the focus, only if it does not have it already. */
  focus(): void;
  /** Keeps a key for `level` until flush (the supervisor has not yet heard that input is back). */
  hold(level: string, event: E): void;
  /** Routes the keys held, in order, to the levels they were typed for if input may flow now; else drops them. */
  flush(inputFlows: boolean): void;
}

export function createStageKeyboard<E extends StageKey>(): StageKeyboard<E> {
  const handlers = new Map<string, KeyHandler<E>>();
  /** Each key down now (by code): the level that had the input when it went down (null: none). */
  const heldIn = new Map<string, string | null>();
  const element: { current: HTMLElement | null } = { current: null };
  let held: [string, E][] = [];
  const deliver = (level: string | null, event: E) => {
    if (level !== null) handlers.get(level)?.(event);
  };
  const keyboard: StageKeyboard<E> = {
    element,
    register(level, handler) {
      handlers.set(level, handler);
      return () => {
        if (handlers.get(level) === handler) handlers.delete(level);
      };
    },
    route(level, event) {
      const code = event.code;
      if (event.type === 'keydown' && !event.repeat) {
        heldIn.set(code, level);
        deliver(level, event);
        return;
      }
      const owner = heldIn.get(code);
      if (event.type === 'keyup') {
        heldIn.delete(code);
        // Its viewer drops it if its level lost the input since (it let the key up then).
        if (owner !== undefined) deliver(owner, event);
        else deliver(level, event);
        return;
      }
      // An auto-repeat (or its keypress) of a key that went down in another level, or while no
      // level had the input, or before the stage had the focus: dropped.
      if (owner === undefined ? event.type === 'keypress' : owner === level) deliver(level, event);
    },
    focus() {
      const el = element.current;
      if (el && el.ownerDocument.activeElement !== el) el.focus({ preventScroll: true });
    },
    hold(level, event) {
      held.push([level, event]);
    },
    flush(inputFlows) {
      const keys = held;
      held = [];
      if (inputFlows) for (const [level, event] of keys) keyboard.route(level, event);
    },
  };
  return keyboard;
}
