/**
 * The keys that may serve as the secure-attention key, in every form the shell and the gateway may
 * meet them: KeyboardEvent.key values (the renderer, Electron), KeyboardEvent.code (the physical
 * key, whatever the layout and modifiers make of it), X keysyms, and the scancodes of QEMU extended
 * key events (the gateway) — as RFB carries them (an 0xe0-prefixed XT code becomes 0x80 | code, as
 * noVNC and QEMU send it), and in their raw XT form too. A real keyboard's Ctrl+Pause is Break: key
 * "Cancel", code "Pause", and noVNC then sends keysym 0 with the Pause scancode — a VNC server that
 * types by scancode (a VM's) would type Pause. So each form is checked.
 */
export interface SakKey {
  keys: readonly string[];
  codes: readonly string[];
  keysyms: readonly number[];
  scancodes: readonly number[];
}

export const SAK_KEYS: Record<string, SakKey> = {
  // Pause and Break share a key; X reports either keysym, browsers key "Pause" or "Cancel".
  pause: { keys: ['pause', 'cancel'], codes: ['Pause'], keysyms: [0xff13, 0xff6b], scancodes: [0xc6, 0xe046] },
  scrolllock: { keys: ['scrolllock'], codes: ['ScrollLock'], keysyms: [0xff14], scancodes: [0x46] },
  f12: { keys: ['f12'], codes: ['F12'], keysyms: [0xffc9], scancodes: [0x58] },
  f11: { keys: ['f11'], codes: ['F11'], keysyms: [0xffc8], scancodes: [0x57] },
  insert: { keys: ['insert'], codes: ['Insert'], keysyms: [0xff63], scancodes: [0xd2, 0xe052] },
};

const NONE: SakKey = { keys: [], codes: [], keysyms: [], scancodes: [] };

export function sakKey(name: string): SakKey {
  return SAK_KEYS[name.toLowerCase()] ?? NONE;
}

/** Is this keyboard event (key and code, as a browser or Electron reports them) the SAK? */
export function isSakEvent(name: string, event: { key: string; code: string }): boolean {
  const sak = sakKey(name);
  return sak.keys.includes(event.key.toLowerCase()) || sak.codes.includes(event.code);
}

/** Is this RFB key (keysym, and scancode for QEMU extended key events) the SAK? */
export function isSakRfbKey(sak: SakKey, keysym: number, scancode: number | null): boolean {
  return sak.keysyms.includes(keysym) || (scancode !== null && sak.scancodes.includes(scancode));
}
