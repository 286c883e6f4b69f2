// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFrameFocusGuard, FRAME_FOCUS_POLL_MS } from './frameFocusGuard';

describe('frame focus guard', () => {
  afterEach(() => {
    document.body.innerHTML = '';
    vi.useRealTimers();
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

  it('finds a frame that took the focus with no event the guard saw, within one poll', () => {
    const { stage, low } = page();
    // A focus taken while the window itself had none: no blur, focus or focusin reaches the guard
    // (stopped here, before its own listeners, which come later on the same targets).
    const unseen = (e: Event) => e.stopImmediatePropagation();
    for (const type of ['focus', 'blur', 'focusin', 'focusout']) window.addEventListener(type, unseen, true);
    vi.useFakeTimers();
    const guard = createFrameFocusGuard(window, () => stage);
    const grabs: string[] = [];
    guard.watch(low, () => grabs.push('low'));
    stage.focus();
    low.focus();
    expect(document.activeElement, 'no event told the guard').toBe(low);
    vi.advanceTimersByTime(FRAME_FOCUS_POLL_MS - 1);
    expect(document.activeElement).toBe(low);
    vi.advanceTimersByTime(1);
    expect(document.activeElement).toBe(stage);
    expect(grabs).toEqual(['low']);
    guard.stop();
    for (const type of ['focus', 'blur', 'focusin', 'focusout']) window.removeEventListener(type, unseen, true);
  });
});
