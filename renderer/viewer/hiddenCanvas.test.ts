/**
 * A viewer hidden for a while keeps no pixels in its canvas, and shows what it had as soon as it
 * is shown again: the whole framebuffer drawn back before the frame that reveals it. Switched back
 * before the delay, its canvas is kept as it is. A resize while hidden (noVNC sizing the canvas at
 * ServerInit) leaves it empty. The display is a stand-in with noVNC 1.7's fields.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { RELEASE_AFTER_MS, releaseCanvasWhileHidden } from './hiddenCanvas';
import { provideImageData } from './testing/nodeImageData';

beforeAll(() => {
  provideImageData();
});

/** noVNC 1.7's display: its canvas (a size, and what was put on it) and its viewport without clipping. */
function fakeDisplay(width: number, height: number) {
  const puts: Array<{ data: Uint8ClampedArray; dx: number; dy: number; w: number; h: number }> = [];
  const display = {
    _fbWidth: width,
    _fbHeight: height,
    _target: { width, height },
    _targetCtx: { putImageData: (img: ImageData, dx: number, dy: number, _x: number, _y: number, w: number, h: number) => void puts.push({ data: img.data, dx, dy, w, h }) },
    _viewportLoc: { x: 0, y: 0, w: width, h: height },
    viewportChangeSize() {
      const vp = this._viewportLoc;
      if (vp.w !== this._fbWidth || vp.h !== this._fbHeight) {
        vp.w = this._fbWidth;
        vp.h = this._fbHeight;
        this._target.width = vp.w;
        this._target.height = vp.h;
      }
    },
  };
  return { display, puts, rfb: { _display: display } as unknown as RFB };
}

function screenOf(width: number, height: number): MemoryFramebuffer {
  const fb = new MemoryFramebuffer();
  fb.resize(width, height);
  fb.fill(0, 0, width, height, 0x12, 0x34, 0x56);
  return fb;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a hidden viewer\'s canvas', () => {
  it('is emptied once hidden for a while and drawn back whole, with what the viewer had, when shown', () => {
    const { display, puts, rfb } = fakeDisplay(64, 40);
    const fb = screenOf(64, 40);
    const canvas = releaseCanvasWhileHidden(rfb, fb, 'front');
    expect(display._target).toEqual({ width: 64, height: 40 });
    canvas.setPlace('hidden');
    vi.advanceTimersByTime(RELEASE_AFTER_MS - 1);
    expect(display._target).toEqual({ width: 64, height: 40 });
    vi.advanceTimersByTime(1);
    expect(display._target).toEqual({ width: 0, height: 0 });
    expect(puts).toHaveLength(0);
    canvas.setPlace('front');
    expect(display._target).toEqual({ width: 64, height: 40 });
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ dx: 0, dy: 0, w: 64, h: 40 });
    expect([...puts[0]!.data.subarray(0, 4)]).toEqual([0x12, 0x34, 0x56, 255]);
  });

  it('is kept as it is when shown again before the delay (a switch back and forth)', () => {
    const { display, puts, rfb } = fakeDisplay(64, 40);
    const canvas = releaseCanvasWhileHidden(rfb, screenOf(64, 40), 'front');
    canvas.setPlace('hidden');
    vi.advanceTimersByTime(RELEASE_AFTER_MS / 2);
    canvas.setPlace('front');
    vi.advanceTimersByTime(RELEASE_AFTER_MS * 2);
    expect(display._target).toEqual({ width: 64, height: 40 });
    expect(puts).toHaveLength(0);
  });

  it('is drawn back when shown beside the front one (split view), and only once', () => {
    const { display, puts, rfb } = fakeDisplay(32, 20);
    const canvas = releaseCanvasWhileHidden(rfb, screenOf(32, 20), 'hidden');
    vi.advanceTimersByTime(RELEASE_AFTER_MS);
    expect(display._target.width).toBe(0);
    canvas.setPlace('beside');
    canvas.setPlace('front');
    expect(display._target).toEqual({ width: 32, height: 20 });
    expect(puts).toHaveLength(1);
  });

  it('stays empty when noVNC resizes it while hidden, and comes back at the new size', () => {
    const { display, puts, rfb } = fakeDisplay(0, 0);
    const fb = new MemoryFramebuffer();
    const canvas = releaseCanvasWhileHidden(rfb, fb, 'hidden');
    vi.advanceTimersByTime(RELEASE_AFTER_MS);
    // ServerInit, read while hidden: the screen's size.
    display._fbWidth = 48;
    display._fbHeight = 30;
    fb.resize(48, 30);
    display.viewportChangeSize();
    expect(display._target).toEqual({ width: 0, height: 0 });
    canvas.setPlace('front');
    expect(display._target).toEqual({ width: 48, height: 30 });
    expect(puts[0]).toMatchObject({ w: 48, h: 30 });
  });

  it('shown before any screen: nothing drawn, noVNC sizes it later', () => {
    const { display, puts, rfb } = fakeDisplay(0, 0);
    const canvas = releaseCanvasWhileHidden(rfb, new MemoryFramebuffer(), 'hidden');
    vi.advanceTimersByTime(RELEASE_AFTER_MS);
    canvas.setPlace('front');
    expect(puts).toHaveLength(0);
    display._fbWidth = 16;
    display._fbHeight = 10;
    display.viewportChangeSize();
    expect(display._target).toEqual({ width: 16, height: 10 });
  });
});
