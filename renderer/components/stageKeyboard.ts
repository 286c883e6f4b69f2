/**
 * The stage's keyboard: one element keeps the focus for every cage, and each key is handed to the
 * viewer of the level allowed input when the key comes (the level in front, none while a trusted
 * surface has the keyboard). A level switch then moves no focus: no focus events, no style and
 * layout forced inside the switch's keydown, and no window in which the focus is on the cage left.
 */
export type KeyHandler<E> = (event: E) => void;

export interface StageKeyboard<E> {
  /** The element that holds the focus (the stage), set by its ref. */
  element: { current: HTMLElement | null };
  /** A viewer's key handler for its level; the returned function takes it back. */
  register(level: string, handler: KeyHandler<E>): () => void;
  /** A key on the stage: to the level allowed input, if any, else to no one. */
  route(level: string | null, event: E): void;
  /** Gives the stage the focus, only if it does not have it already. */
  focus(): void;
}

export function createStageKeyboard<E>(): StageKeyboard<E> {
  const handlers = new Map<string, KeyHandler<E>>();
  const element: { current: HTMLElement | null } = { current: null };
  return {
    element,
    register(level, handler) {
      handlers.set(level, handler);
      return () => {
        if (handlers.get(level) === handler) handlers.delete(level);
      };
    },
    route(level, event) {
      if (level !== null) handlers.get(level)?.(event);
    },
    focus() {
      const el = element.current;
      if (el && el.ownerDocument.activeElement !== el) el.focus({ preventScroll: true });
    },
  };
}
