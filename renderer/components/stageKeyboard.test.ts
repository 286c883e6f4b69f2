import { describe, expect, it } from 'vitest';
import { createStageKeyboard } from './stageKeyboard';

describe('stage keyboard', () => {
  it('hands each key to the level allowed input when it comes, and to no one while none is', () => {
    const keyboard = createStageKeyboard<string>();
    const got: string[] = [];
    keyboard.register('low', (k) => got.push(`low:${k}`));
    keyboard.register('high', (k) => got.push(`high:${k}`));
    keyboard.route('low', 'a');
    keyboard.route('high', 'b');
    keyboard.route(null, 'c');
    keyboard.route('other', 'd');
    expect(got).toEqual(['low:a', 'high:b']);
  });

  it('forgets a viewer that took its handler back, not the one that replaced it', () => {
    const keyboard = createStageKeyboard<string>();
    const got: string[] = [];
    const dropOld = keyboard.register('low', (k) => got.push(`old:${k}`));
    const dropNew = keyboard.register('low', (k) => got.push(`new:${k}`));
    dropOld();
    keyboard.route('low', 'a');
    dropNew();
    keyboard.route('low', 'b');
    expect(got).toEqual(['new:a']);
  });

  it('moves the focus only when the stage does not have it', () => {
    const keyboard = createStageKeyboard<string>();
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
});
