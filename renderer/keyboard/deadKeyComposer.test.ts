/**
 * The events below are those Chromium sent, on a real X display with the fr layout and xdotool's
 * keys (e2e/support/hostDisplay.ts), for ^e, ¨I, AltGr+` a, ^q and ^ then Backspace.
 */
import { describe, expect, it } from 'vitest';
import { createDeadKeyComposer, type KeyInput, type KeyMessage } from './deadKeyComposer';

const ev = (type: KeyInput['type'], key: string, code: string, mods: Partial<KeyInput> = {}): KeyInput => ({
  type, key, code, keyCode: 0, location: 0, repeat: false, ctrl: false, alt: false, shift: false, meta: false, altGraph: false, ...mods,
});

function setup() {
  const sent: KeyMessage[] = [];
  const timers: Array<() => void> = [];
  const composer = createDeadKeyComposer((m) => sent.push(m), { set: (fn) => timers.push(fn), clear: () => undefined });
  const cage = () => sent.map((m) => `${m.event === 'keydown' ? '+' : '-'}${m.key}`).join(' ');
  return { composer, cage, timers, sent };
}

describe('dead keys composed for the cage', () => {
  it('^ then e gives the cage ê, pressed and released, and nothing of the dead key', () => {
    const { composer, cage, sent } = setup();
    expect(composer.handle(ev('keydown', 'Dead', 'BracketLeft'))).toBe(false);
    expect(composer.handle(ev('keydown', 'e', 'KeyE'))).toBe(true); // its keypress must come
    composer.handle(ev('keypress', 'ê', 'KeyE'));
    composer.handle(ev('keyup', 'e', 'KeyE'));
    expect(cage()).toBe('+ê -ê');
    expect(sent[0]!.code).toBe('KeyE');
  });

  it('Shift+¨ then Shift+I gives Ï, and the Shift whose release Chromium dropped is released', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'Shift', 'ShiftLeft', { shift: true }));
    composer.handle(ev('keydown', 'Dead', 'BracketLeft', { shift: true }));
    // (no keyup for Shift nor for the dead key: Chromium swallowed them)
    composer.handle(ev('keydown', 'Shift', 'ShiftLeft', { shift: true }));
    composer.handle(ev('keydown', 'I', 'KeyI', { shift: true }));
    composer.handle(ev('keypress', 'Ï', 'KeyI', { shift: true }));
    composer.handle(ev('keyup', 'Shift', 'ShiftLeft'));
    composer.handle(ev('keyup', 'i', 'KeyI'));
    expect(cage()).toBe('+Shift +Shift +Ï -Ï -Shift');
  });

  it('AltGr + dead grave then a gives à, and AltGr is released before it', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'AltGraph', 'AltRight', { altGraph: true }));
    composer.handle(ev('keydown', 'Dead', 'Backslash', { altGraph: true }));
    composer.handle(ev('keydown', 'a', 'KeyQ'));
    composer.handle(ev('keypress', 'à', 'KeyQ'));
    composer.handle(ev('keyup', 'a', 'KeyQ'));
    expect(cage()).toBe('+AltGraph -AltGraph +à -à');
  });

  it('a pair that does not compose gives both characters: ^ then q is ^q', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'Dead', 'BracketLeft'));
    composer.handle(ev('keydown', 'q', 'KeyA'));
    composer.handle(ev('keypress', '^', 'KeyA'));
    composer.handle(ev('keypress', 'q', 'KeyA'));
    composer.handle(ev('keyup', 'q', 'KeyA'));
    expect(cage()).toBe('+^ -^ +q -q');
  });

  it('a named key ends the composition and goes as itself, released at once (its release may never come)', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'Dead', 'BracketLeft'));
    expect(composer.handle(ev('keydown', 'Backspace', 'Backspace'))).toBe(false);
    composer.handle(ev('keydown', 'y', 'KeyY'));
    composer.handle(ev('keyup', 'y', 'KeyY'));
    expect(cage()).toBe('+Backspace -Backspace +y -y');
  });

  it('a letter after a dead key for which no character comes goes as itself once the wait is over', () => {
    const { composer, cage, timers } = setup();
    composer.handle(ev('keydown', 'Dead', 'BracketLeft'));
    composer.handle(ev('keydown', 'e', 'KeyE', { ctrl: true }));
    expect(cage()).toBe('');
    timers[0]!();
    expect(cage()).toBe('+e -e');
  });

  it('keys without dead keys go as before: press on keydown, release on keyup, keypress ignored', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'a', 'KeyQ'));
    composer.handle(ev('keypress', 'a', 'KeyQ'));
    composer.handle(ev('keydown', 'AltGraph', 'AltRight', { altGraph: true }));
    composer.handle(ev('keydown', '€', 'KeyE', { altGraph: true }));
    composer.handle(ev('keypress', '€', 'KeyE', { altGraph: true }));
    composer.handle(ev('keyup', 'AltGraph', 'AltRight'));
    composer.handle(ev('keyup', 'e', 'KeyE'));
    composer.handle(ev('keyup', 'a', 'KeyQ'));
    expect(cage()).toBe('+a +AltGraph +€ -AltGraph -e -a');
  });

  it('reset forgets a composition: after the cage left the front, e is e', () => {
    const { composer, cage } = setup();
    composer.handle(ev('keydown', 'Dead', 'BracketLeft'));
    composer.reset();
    composer.handle(ev('keydown', 'e', 'KeyE'));
    expect(cage()).toBe('+e');
  });
});
