// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { createFrameFocusGuard } from './frameFocusGuard';

describe('frame focus guard', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  function page() {
    document.body.innerHTML = '<main tabindex="0" id="stage"></main><input id="pin"><iframe id="low"></iframe><iframe id="other"></iframe>';
    const get = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
    return { stage: get<HTMLElement>('stage'), pin: get<HTMLInputElement>('pin'), low: get<HTMLIFrameElement>('low'), other: get<HTMLIFrameElement>('other') };
  }

  it('takes the focus back from a frame to the stage at once and tells that frame\'s watcher', () => {
    const { stage, low } = page();
    const guard = createFrameFocusGuard(window, () => stage);
    const grabs: string[] = [];
    guard.watch(low, () => grabs.push('low'));
    stage.focus();
    low.focus();
    expect(document.activeElement).toBe(stage);
    expect(grabs).toEqual(['low']);
    guard.stop();
  });

  it('gives the focus back to the trusted field that had it (the overview\'s PIN), not to the stage', () => {
    const { stage, pin, low } = page();
    const guard = createFrameFocusGuard(window, () => stage);
    pin.focus();
    low.focus();
    expect(document.activeElement).toBe(pin);
    guard.stop();
  });

  it('takes it from a frame nobody watches too', () => {
    const { stage, other, low } = page();
    const guard = createFrameFocusGuard(window, () => stage);
    const grabs: string[] = [];
    guard.watch(low, () => grabs.push('low'));
    other.focus();
    expect(document.activeElement).toBe(stage);
    expect(grabs).toEqual([]);
    guard.stop();
  });
});
