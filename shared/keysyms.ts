/**
 * The few X keysyms the shell and the gateway must agree on: the keys that may serve as the
 * secure-attention key. The renderer names keys as KeyboardEvent.key; the gateway sees keysyms.
 */
export const SAK_KEYS: Record<string, readonly number[]> = {
  // Pause and Break share a key; X reports either keysym depending on modifiers.
  pause: [0xff13, 0xff6b],
  scrolllock: [0xff14],
  f12: [0xffc9],
  f11: [0xffc8],
  insert: [0xff63],
};

export function sakKeysyms(key: string): readonly number[] {
  return SAK_KEYS[key.toLowerCase()] ?? [];
}
