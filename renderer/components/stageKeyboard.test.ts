import { describe, expect, it } from 'vitest';
import { createStageKeyboard, type StageKey } from './stageKeyboard';

type Key = StageKey & { name: string };
const down = (code: string, repeat = false): Key => ({ type: 'keydown', code, repeat, name: `${repeat ? 'repeat' : 'down'}:${code}` });
const press = (code: string): Key => ({ type: 'keypress', code, repeat: false, name: `press:${code}` });
const up = (code: string): Key => ({ type: 'keyup', code, repeat: false, name: `up:${code}` });

describe('stage keyboard', () => {
  it('hands each key to the level allowed input when it comes, and to no one while none is', () => {
    const keyboard = createStageKeyboard<Key>();
    const got: string[] = [];
    keyboard.register('low', (k) => got.push(`low:${k.name}`));
    keyboard.register('high', (k) => got.push(`high:${k.name}`));
    keyboard.route('low', down('KeyA'));
    keyboard.route('high', down('KeyB'));
    keyboard.route(null, down('KeyC'));
    keyboard.route('other', down('KeyD'));
    expect(got).toEqual(['low:down:KeyA', 'high:down:KeyB']);
  });

  it('forgets a viewer that took its handler back, not the one that replaced it', () => {
    const keyboard = createStageKeyboard<Key>();
    const got: string[] = [];
    const dropOld = keyboard.register('low', (k) => got.push(`old:${k.name}`));
    const dropNew = keyboard.register('low', (k) => got.push(`new:${k.name}`));
    dropOld();
    keyboard.route('low', down('KeyA'));
    dropNew();
    keyboard.route('low', down('KeyB'));
    expect(got).toEqual(['new:down:KeyA']);
  });

  it('keeps a held key in the level it went down in: its repeats reach no level put in front since, its release goes back', () => {
    const keyboard = createStageKeyboard<Key>();
    const got: string[] = [];
    keyboard.register('low', (k) => got.push(`low:${k.name}`));
    keyboard.register('high', (k) => got.push(`high:${k.name}`));
    keyboard.route('low', down('KeyA'));
    keyboard.route('low', press('KeyA'));
    keyboard.route('low', down('KeyA', true));
    keyboard.route('low', press('KeyA'));
    // high put in front by a click on the band; the key still auto-repeats.
    keyboard.route('high', down('KeyA', true));
    keyboard.route('high', press('KeyA'));
    keyboard.route('high', down('KeyA', true));
    // A key pressed in high meanwhile is high's.
    keyboard.route('high', down('KeyX'));
    keyboard.route('high', up('KeyX'));
    keyboard.route('high', up('KeyA'));
    // Released: the next press of the same key belongs to the level in front then.
    keyboard.route('high', down('KeyA'));
    keyboard.route('high', down('KeyA', true));
    keyboard.route('high', up('KeyA'));
    expect(got).toEqual([
      'low:down:KeyA', 'low:press:KeyA', 'low:repeat:KeyA', 'low:press:KeyA',
      'high:down:KeyX', 'high:up:KeyX',
      'low:up:KeyA',
      'high:down:KeyA', 'high:repeat:KeyA', 'high:up:KeyA',
    ]);
  });

  it('drops the repeats of a key that went down while no level had the input, or before the stage had the focus', () => {
    const keyboard = createStageKeyboard<Key>();
    const got: string[] = [];
    keyboard.register('low', (k) => got.push(`low:${k.name}`));
    keyboard.route(null, down('KeyA'));
    keyboard.route('low', down('KeyA', true));
    keyboard.route('low', press('KeyA'));
    keyboard.route('low', up('KeyA'));
    keyboard.route('low', down('KeyB', true));
    keyboard.route('low', up('KeyB'));
    expect(got).toEqual(['low:up:KeyB']);
  });

  it('moves the focus only when the stage does not have it', () => {
    const keyboard = createStageKeyboard<Key>();
    let focusCalls = 0;
    const doc = { activeElement: null as unknown };
    const el = { ownerDocument: doc, focus: () => (focusCalls++, (doc.activeElement = el)) };
    keyboard.element.current = el as unknown as HTMLElement;
    keyboard.focus();
    keyboard.focus();
    expect(focusCalls).toBe(1);
    doc.activeElement = null;
    keyboard.focus();
    expect(focusCalls).toBe(2);
  });

  it('holds keys while the supervisor has not heard input is back, then routes them in order — or drops them if a surface opened again', () => {
    const keyboard = createStageKeyboard<Key>();
    const got: string[] = [];
    keyboard.register('low', (k) => got.push(`low:${k.name}`));
    keyboard.hold('low', down('KeyA'));
    keyboard.hold('low', up('KeyA'));
    keyboard.hold('low', down('KeyP'));
    expect(got).toEqual([]);
    keyboard.flush(true);
    expect(got).toEqual(['low:down:KeyA', 'low:up:KeyA', 'low:down:KeyP']);
    keyboard.flush(true);
    expect(got).toHaveLength(3); // each held key once
    keyboard.hold('low', down('KeyS'));
    keyboard.flush(false);
    keyboard.flush(true);
    expect(got).toHaveLength(3);
  });
});
