/**
 * noVNC's display drawing in memory: each update reaches the visible canvas as one putImageData of
 * what changed (only what the viewport shows), what waits behind an image in noVNC's render queue
 * stays in that queue, in order, and every rectangle is still counted as drawn (the viewer's budget).
 * Tight's full-colour rectangles land in memory opaque. The display here is a stand-in with noVNC
 * 1.7's fields and its queueing rule; no canvas is needed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { drawInMemory } from './drawInMemory';
import { decodeTightInMemory } from './tightInMemory';
import { provideImageData } from './testing/nodeImageData';

beforeAll(() => {
  provideImageData();
});

interface Put {
  dx: number;
  dy: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** noVNC 1.7's display, reduced to what drawInMemory touches; its canvas methods record what they would draw. */
function fakeDisplay() {
  const puts: Put[] = [];
  const canvasCalls: string[] = [];
  const damaged: number[][] = [];
  const display = {
    _renderQ: [] as unknown[],
    _renderQPush(action: unknown) {
      this._renderQ.push(action);
    },
    _fbWidth: 0,
    _fbHeight: 0,
    _prevDrawStyle: '',
    _targetCtx: { putImageData: (_img: unknown, dx: number, dy: number, x: number, y: number, w: number, h: number) => void puts.push({ dx, dy, x, y, w, h }) },
    _backbuffer: { width: 300, height: 150 },
    _drawCtx: {},
    _viewportLoc: { x: 0, y: 0, w: 0, h: 0 },
    _damageBounds: { left: 0, top: 0, right: 0, bottom: 0 },
    _damage(x: number, y: number, w: number, h: number) {
      damaged.push([x, y, w, h]);
      const b = this._damageBounds;
      b.left = Math.min(b.left, x);
      b.top = Math.min(b.top, y);
      b.right = Math.max(b.right, x + w);
      b.bottom = Math.max(b.bottom, y + h);
    },
    // Without clipViewport (the viewer's setting), noVNC's viewport is the whole screen.
    viewportChangeSize() {
      this._viewportLoc.w = this._fbWidth;
      this._viewportLoc.h = this._fbHeight;
    },
    viewportChangePos() {
      const vp = this._viewportLoc;
      this._damage(vp.x, vp.y, vp.w, vp.h);
      this.flip();
    },
    // noVNC queues a drawing while an image ahead of it is still decoding.
    fillRect(..._args: unknown[]) {
      canvasCalls.push(`fill queued=${this._renderQ.length}`);
    },
    blitImage(..._args: unknown[]) {
      canvasCalls.push('blit');
    },
    copyImage(..._args: unknown[]) {
      canvasCalls.push('copy');
    },
    drawImage(..._args: unknown[]) {
      canvasCalls.push('drawImage');
    },
    flip(..._args: unknown[]) {
      canvasCalls.push(`flip queued=${this._renderQ.length}`);
    },
    resize(..._args: unknown[]) {
      canvasCalls.push('resize');
    },
    getImageData() {
      return null;
    },
    toDataURL() {
      return '';
    },
    toBlob() {},
  };
  return { display, puts, canvasCalls, damaged, rfb: { _display: display } as unknown as RFB };
}

describe('noVNC drawing in memory', () => {
  it("puts only what changed onto the visible canvas, once per update, clipped to the viewport", () => {
    const { display, puts, rfb, damaged } = fakeDisplay();
    const fb = drawInMemory(rfb);
    display.resize(100, 50);
    expect(display._backbuffer.width).toBe(0); // the hidden canvas keeps no screen-sized pixels
    expect(puts).toEqual([{ dx: 0, dy: 0, x: 0, y: 0, w: 100, h: 50 }]); // the new screen, whole
    puts.length = 0;
    damaged.length = 0;
    display.fillRect(10, 5, 20, 10, [1, 2, 3]);
    display.blitImage(40, 20, 2, 1, new Uint8Array([9, 9, 9, 255, 8, 8, 8, 255]), 0);
    display.fillRect(90, 45, 50, 50, [4, 5, 6]); // past the corner: clipped
    expect(puts).toEqual([]); // nothing shown before the update's flip
    display.flip();
    expect(puts).toEqual([{ dx: 0, dy: 0, x: 10, y: 5, w: 90, h: 45 }]);
    expect(damaged).toEqual([
      [10, 5, 20, 10],
      [40, 20, 2, 1],
      [90, 45, 50, 50],
    ]);
    expect([...fb.pixels.subarray((5 * 100 + 10) * 4, (5 * 100 + 10) * 4 + 4)]).toEqual([1, 2, 3, 255]);
    expect([...fb.pixels.subarray((20 * 100 + 41) * 4, (20 * 100 + 41) * 4 + 4)]).toEqual([8, 8, 8, 255]);
    display.flip(); // nothing changed since: nothing put
    expect(puts).toHaveLength(1);
  });

  it("leaves to noVNC's queue what waits behind an image, and draws it in memory when the queue runs it", () => {
    const { display, canvasCalls, puts, rfb } = fakeDisplay();
    const fb = drawInMemory(rfb);
    display.resize(10, 10);
    puts.length = 0;
    display._renderQ.push({ type: 'img' });
    display.fillRect(0, 0, 2, 2, [7, 7, 7]);
    display.flip();
    expect(canvasCalls).toEqual(['fill queued=1', 'flip queued=1']);
    expect(fb.pixels[0]).toBe(0);
    expect(puts).toEqual([]);
    // The queue's turn: noVNC calls the same methods with fromQueue.
    display.fillRect(0, 0, 2, 2, [7, 7, 7], true);
    display.flip(true);
    expect(fb.pixels[0]).toBe(7);
    expect(puts).toEqual([{ dx: 0, dy: 0, x: 0, y: 0, w: 2, h: 2 }]);
  });

  it('keeps the screen through a resize and shows the new size whole', () => {
    const { display, puts, rfb } = fakeDisplay();
    const fb = drawInMemory(rfb);
    display.resize(4, 4);
    display.fillRect(0, 0, 4, 4, [5, 5, 5]);
    display.flip();
    puts.length = 0;
    display.resize(6, 2);
    expect([fb.width, fb.height, display._fbWidth, display._fbHeight]).toEqual([6, 2, 6, 2]);
    expect(fb.pixels[0]).toBe(5);
    expect(fb.pixels[4 * 4]).toBe(0); // the new column is black
    expect(puts).toEqual([{ dx: 0, dy: 0, x: 0, y: 0, w: 6, h: 2 }]);
  });

  it("draws an image through a scratch canvas no larger than the screen, whatever size the cage's image claims", () => {
    const { display, rfb } = fakeDisplay();
    const scratch = { width: 300, height: 150, sizes: [] as string[], drawn: [] as number[][] };
    const context = {
      canvas: scratch,
      clearRect: () => undefined,
      drawImage: (_img: unknown, ...a: number[]) => void scratch.drawn.push(a),
      getImageData: (_x: number, _y: number, w: number, h: number) => {
        scratch.sizes.push(`${scratch.width}x${scratch.height}`);
        return { data: new Uint8ClampedArray(w * h * 4).fill(9) };
      },
    };
    const canvas = { getContext: () => context } as unknown as HTMLCanvasElement;
    const fb = drawInMemory(rfb, () => canvas);
    display.resize(640, 400);
    // A hostile cage's JPEG rectangle: 16384×16384 at (600, 390), all but 40×10 of it off the screen.
    display.drawImage({ width: 16384, height: 16384 } as unknown as CanvasImageSource, 600, 390);
    expect(scratch.sizes).toEqual(['300x150']);
    expect(scratch.drawn).toEqual([[0, 0, 40, 10, 0, 0, 40, 10]]);
    expect(fb.pixels[(399 * 640 + 639) * 4]).toBe(9);
    // An image wholly off the screen is not drawn at all.
    display.drawImage({ width: 100, height: 100 } as unknown as CanvasImageSource, 700, 0);
    expect(scratch.drawn).toHaveLength(1);
  });

  it('refuses a display that is not noVNC 1.7s', () => {
    expect(() => drawInMemory({ _display: {} } as unknown as RFB)).toThrow(/not 1.7/);
  });
});

describe("Tight's full-colour rectangles in memory", () => {
  function tightRfb() {
    const { display, rfb, damaged } = fakeDisplay();
    const inflated: Array<Uint8Array | null> = [];
    const originalCalls: number[][] = [];
    const decoded: number[][] = [];
    const tight = {
      decodeRect: (x: number, y: number, w: number, h: number, ..._rest: unknown[]) => (decoded.push([x, y, w, h]), true),
      _zlibs: [0, 1, 2, 3].map(() => ({
        input: null as Uint8Array | null,
        setInput(data: Uint8Array | null) {
          this.input = data;
          inflated.push(data);
        },
        inflate(expected: number) {
          return this.input!.subarray(0, expected); // the fake stream's "compressed" bytes are the pixels
        },
      })),
      _readData: (sock: { data: Uint8Array | null }) => sock.data,
      _copyFilter: (_s: number, x: number, y: number, w: number, h: number, ..._rest: unknown[]) => {
        originalCalls.push([x, y, w, h]);
        return true;
      },
    };
    (rfb as unknown as { _decoders: Record<number, unknown> })._decoders = { 7: tight };
    const fb = drawInMemory(rfb);
    decodeTightInMemory(rfb, fb, 'pako'); // the decoder's own inflators kept: these fake ones
    display.resize(4, 2);
    return { display, tight, fb, damaged, originalCalls, inflated, decoded };
  }

  it('decodes no rectangle that does not lie within the screen, whatever its filter: nothing is inflated for it', () => {
    const { display, tight, inflated, decoded } = tightRfb();
    expect(tight.decodeRect(0, 0, 4, 2, {} as never, display as never, 24)).toBe(true);
    for (const [x, y, w, h] of [[60000, 0, 4096, 4096], [3, 0, 2, 1], [0, 1, 1, 2]]) expect(() => tight.decodeRect(x!, y!, w!, h!, {} as never, display as never, 24)).toThrow(/outside the 4x2 framebuffer/);
    expect(decoded).toEqual([[0, 0, 4, 2]]);
    expect(inflated).toEqual([]);
  });

  it('writes the inflated r, g, b opaque where the rectangle is, counted as drawn', () => {
    const { display, tight, fb, damaged, originalCalls } = tightRfb();
    damaged.length = 0;
    const pixels = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tight._copyFilter(0, 2, 0, 2, 2, { data: pixels } as never, display as never, 24)).toBe(true);
    expect([...fb.pixels.subarray(8, 16)]).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect([...fb.pixels.subarray(24, 32)]).toEqual([7, 8, 9, 255, 10, 11, 12, 255]);
    expect(damaged).toEqual([[2, 0, 2, 2]]);
    expect(originalCalls).toEqual([]);
  });

  it('waits for the rest of a rectangle still on its way, and leaves the tiny ones to noVNC', () => {
    const { display, tight, originalCalls } = tightRfb();
    expect(tight._copyFilter(0, 0, 0, 2, 2, { data: null } as never, display as never, 24)).toBe(false);
    expect(tight._copyFilter(0, 0, 0, 1, 3, { data: null } as never, display as never, 24)).toBe(true); // 9 bytes: sent raw
    expect(originalCalls).toEqual([[0, 0, 1, 3]]);
  });

  it("queues a rectangle behind an image still decoding, as opaque RGBA in noVNC's order, and draws it when the queue runs it", () => {
    const { display, tight, fb, originalCalls } = tightRfb();
    display._renderQ.push({ type: 'img' });
    const pixels = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(tight._copyFilter(0, 2, 0, 2, 2, { data: pixels } as never, display as never, 24)).toBe(true);
    expect(fb.pixels[8]).toBe(0); // not drawn before the image ahead of it
    const queued = display._renderQ[1] as { type: string; data: Uint8Array; x: number; y: number; width: number; height: number };
    expect({ ...queued, data: [...queued.data] }).toEqual({ type: 'blit', data: [1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255], x: 2, y: 0, width: 2, height: 2 });
    display.blitImage(queued.x, queued.y, queued.width, queued.height, queued.data, 0, true); // the queue's turn
    expect([...fb.pixels.subarray(8, 16)]).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect(originalCalls).toEqual([]);
  });
});
