// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sakKey } from '../../shared/keysyms';
import { installShortcutCapture } from './shortcutCapture';

describe('shortcut capture', () => {
  let uninstall = () => {};
  afterEach(() => uninstall());

  function setup(suspended = false) {
    const canvas = document.createElement('canvas');
    document.body.append(canvas);
    const cageKeys: string[] = [];
    canvas.addEventListener('keydown', (e) => cageKeys.push(`down ${e.key}`));
    canvas.addEventListener('keyup', (e) => cageKeys.push(`up ${e.key}`));
    canvas.addEventListener('keypress', (e) => cageKeys.push(`press ${e.key}`));
    const switchLevel = vi.fn();
    const sak = vi.fn();
    const state = { suspended };
    uninstall = installShortcutCapture(window, {
      bindings: [
        { chord: 'Ctrl+Alt+PageDown', action: switchLevel },
        { chord: 'Pause', action: sak, anyModifiers: true, alsoKeys: sakKey('Pause').keys, alsoCodes: sakKey('Pause').codes },
      ],
      suspended: () => state.suspended,
    });
    const key = (type: 'keydown' | 'keyup' | 'keypress', key: string, mods: KeyboardEventInit = {}) =>
      canvas.dispatchEvent(new KeyboardEvent(type, { key, code: key, bubbles: true, cancelable: true, ...mods }));
    return { cageKeys, switchLevel, sak, key, state };
  }

  it('keeps the switch chord from the cage, keydown and keyup', () => {
    const t = setup();
    t.key('keydown', 'PageDown', { ctrlKey: true, altKey: true });
    t.key('keyup', 'PageDown', { ctrlKey: true, altKey: true });
    expect(t.switchLevel).toHaveBeenCalledTimes(1);
    expect(t.cageKeys).toEqual([]);
    t.key('keydown', 'PageDown'); // without its modifiers it is an ordinary key
    expect(t.cageKeys).toEqual(['down PageDown']);
  });

  it('catches Ctrl+Pause as a real keyboard sends it (key "Cancel", code "Pause"), and the physical key under any layout', () => {
    const t = setup();
    const raw = (type: 'keydown' | 'keyup', init: KeyboardEventInit) => window.document.querySelector('canvas')!.dispatchEvent(new KeyboardEvent(type, { bubbles: true, cancelable: true, ...init }));
    raw('keydown', { key: 'Cancel', code: 'Pause', ctrlKey: true });
    raw('keyup', { key: 'Cancel', code: 'Pause', ctrlKey: true });
    raw('keydown', { key: 'Unidentified', code: 'Pause' });
    raw('keyup', { key: 'Unidentified', code: 'Pause' });
    expect(t.sak).toHaveBeenCalledTimes(2);
    expect(t.cageKeys).toEqual([]);
  });

  it('catches the secure-attention key in every modifier state', () => {
    const t = setup();
    const combos: KeyboardEventInit[] = [];
    for (let m = 0; m < 16; m++) combos.push({ ctrlKey: !!(m & 1), altKey: !!(m & 2), shiftKey: !!(m & 4), metaKey: !!(m & 8) });
    for (const mods of combos) {
      t.key('keydown', 'Pause', mods);
      t.key('keyup', 'Pause', mods);
    }
    expect(t.sak).toHaveBeenCalledTimes(16);
    expect(t.cageKeys).toEqual([]);
  });

  it('keeps every key from the cages while a trusted surface is open', () => {
    const t = setup(true);
    t.key('keydown', 'a');
    t.key('keyup', 'a');
    expect(t.cageKeys).toEqual([]);
    t.state.suspended = false;
    t.key('keydown', 'a');
    expect(t.cageKeys).toEqual(['down a']);
  });

  it('keeps the keypress carrying a composed character from the cages too while a trusted surface is open', () => {
    // The input surface sends the character a dead key composed from the keypress (deadKeyComposer).
    const t = setup(true);
    t.key('keypress', 'ê');
    expect(t.cageKeys).toEqual([]);
    t.state.suspended = false;
    t.key('keypress', 'ê');
    expect(t.cageKeys).toEqual(['press ê']);
  });
});
