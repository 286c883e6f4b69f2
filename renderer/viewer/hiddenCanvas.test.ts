/**
 * A hidden viewer's canvas keeps no pixels, and shows what the viewer had as soon as it is shown
 * again: the whole framebuffer drawn back before the frame that reveals it. A resize while hidden
 * (noVNC sizing the canvas at ServerInit) leaves it empty. The display is a stand-in with noVNC
 * 1.7's fields.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { releaseCanvasWhileHidden } from './hiddenCanvas';

beforeAll(() => {
  (globalThis as { ImageData?: unknown }).ImageData ??= class {
    constructor(
      readonly data: Uint8ClampedArray,
      readonly width: number,
      readonly height: number,
    ) {}
  };
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

describe('a hidden viewer\'s canvas', () => {
  it('is emptied when hidden and drawn back whole, with what the viewer had, when shown', () => {
    const { display, puts, rfb } = fakeDisplay(64, 40);
    const fb = screenOf(64, 40);
    const canvas = releaseCanvasWhileHidden(rfb, fb, 'front');
    expect(display._target).toEqual({ width: 64, height: 40 });
    canvas.setPlace('hidden');
    expect(display._target).toEqual({ width: 0, height: 0 });
    expect(puts).toHaveLength(0);
    canvas.setPlace('front');
    expect(display._target).toEqual({ width: 64, height: 40 });
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ dx: 0, dy: 0, w: 64, h: 40 });
    expect([...puts[0]!.data.subarray(0, 4)]).toEqual([0x12, 0x34, 0x56, 255]);
  });

  it('is drawn back when shown beside the front one (split view), and only once', () => {
    const { display, puts, rfb } = fakeDisplay(32, 20);
    const canvas = releaseCanvasWhileHidden(rfb, screenOf(32, 20), 'hidden');
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
    canvas.setPlace('front');
    expect(puts).toHaveLength(0);
    display._fbWidth = 16;
    display._fbHeight = 10;
    display.viewportChangeSize();
    expect(display._target).toEqual({ width: 16, height: 10 });
  });
});
