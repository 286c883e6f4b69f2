/**
 * noVNC reading the next update while a JPEG still decodes (renderQueueReadAhead.ts), on noVNC 1.7's
 * own render queue and pending()/flush() (run here on a stand-in display): its updates are drawn in
 * the order they came; past half a screen of pixels held it waits as before; a decode that never
 * comes makes it hold no more than renderQueueBound.ts's two screens, and without that bound there
 * is no read-ahead at all.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { decodeJpegInMemory, type DecodedPixels, type JpegDecode } from './jpegInMemory';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { boundRenderQueue } from './renderQueueBound';
import { readAheadWhileDecoding } from './renderQueueReadAhead';
import { provideImageData } from './testing/nodeImageData';

interface NoVncDisplayMethods {
  _renderQPush(action: unknown): void;
  _scanRenderQ(): void;
  pending(): boolean;
  flush(): Promise<void>;
}
let noVnc: NoVncDisplayMethods;

beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= globalThis; // noVNC's logging reads it as it loads
  // @ts-expect-error noVNC ships no types for its internal modules
  noVnc = ((await import('@novnc/novnc/core/display.js')) as { default: { prototype: NoVncDisplayMethods } }).default.prototype;
  provideImageData();
});

const [W, H] = [1280, 800];

/** noVNC 1.7's display with its real queue and pending()/flush(); drawing into memory, as drawInMemory.ts does. */
function viewer(readAhead = true) {
  const fb = new MemoryFramebuffer();
  fb.resize(W, H);
  const flips: number[] = [];
  const refused: string[] = [];
  const display = {
    _renderQ: [] as unknown[],
    _flushPromise: null,
    _flushResolve: null,
    _fbWidth: W,
    _fbHeight: H,
    _renderQPush: noVnc._renderQPush,
    _scanRenderQ: noVnc._scanRenderQ,
    pending: noVnc.pending,
    flush: noVnc.flush,
    _damage: () => undefined,
    imageRect: (_x: number, _y: number, _w: number, _h: number, _mime: string, _data: Uint8Array) => undefined,
    drawImage: () => undefined,
    fillRect(x: number, y: number, w: number, h: number, colour: number[], fromQueue?: boolean) {
      if (this._renderQ.length !== 0 && !fromQueue) return this._renderQPush({ type: 'fill', x, y, width: w, height: h, color: colour });
      fb.fill(x, y, w, h, colour[0]!, colour[1]!, colour[2]!);
    },
    blitImage(x: number, y: number, w: number, h: number, data: Uint8Array, offset: number, fromQueue?: boolean) {
      if (this._renderQ.length !== 0 && !fromQueue) return this._renderQPush({ type: 'blit', x, y, width: w, height: h, data: data.slice(offset, offset + w * h * 4) });
      fb.blit(x, y, w, h, data.subarray(offset));
    },
    flip(fromQueue?: boolean) {
      if (this._renderQ.length !== 0 && !fromQueue) return this._renderQPush({ type: 'flip' });
      flips.push(fb.pixels[0]!);
    },
  };
  const rfb = { _display: display } as unknown as RFB;
  boundRenderQueue(display, (reason) => refused.push(reason));
  const started: Array<(p: DecodedPixels | null) => void> = [];
  const decode: JpegDecode = () => new Promise((resolve) => started.push(resolve));
  decodeJpegInMemory(rfb, fb, decode);
  if (readAhead) readAheadWhileDecoding(rfb);
  return { fb, display, rfb, flips, refused, started };
}

/** A JPEG's start (SOI, a baseline SOF0) declaring `width`×`height`. */
const jpegDeclaring = (width: number, height: number) => new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('reading the next update while a JPEG decodes', () => {
  it('reads on, and draws the updates in the order they came once the decode is done', async () => {
    const { fb, display, flips, refused, started } = viewer();
    // Update 1: a quarter of the screen as JPEG.
    display.imageRect(0, 0, W / 2, H / 2, 'image/jpeg', jpegDeclaring(W / 2, H / 2));
    display.flip();
    expect(display.pending()).toBe(false); // noVNC reads update 2 now, as vncviewer would
    // Update 2: a fill over the JPEG's corner, which must land on top of it.
    display.fillRect(0, 0, 8, 8, [7, 7, 7]);
    display.flip();
    expect(display.pending()).toBe(false);
    expect(flips).toEqual([]);
    started[0]!({ rgba: new Uint8Array((W / 2) * (H / 2) * 4).fill(200) });
    await settle();
    expect(flips).toEqual([200, 7]); // update 1 as the JPEG left it, then update 2
    expect([fb.pixels[0], fb.pixels[4 * 8]]).toEqual([7, 200]);
    expect(display._renderQ).toEqual([]);
    expect(refused).toEqual([]);
  });

  it("is noVNC's own wait without it: the first update's JPEG holds the next one's reading", () => {
    const { display } = viewer(false);
    display.imageRect(0, 0, W / 2, H / 2, 'image/jpeg', jpegDeclaring(W / 2, H / 2));
    display.flip();
    expect(display.pending()).toBe(true);
  });

  it('waits past half a screen held; a decode that never comes holds no more than the bound, an honest cage never refused', async () => {
    const { display, refused, started } = viewer();
    display.imageRect(0, 0, 16, 16, 'image/jpeg', jpegDeclaring(16, 16)); // never answered
    display.flip();
    let updates = 0;
    // noVNC's loop: it reads an update only while pending() says no (rfb.js _framebufferUpdate).
    while (!display.pending() && updates < 1000) {
      for (let row = 0; row < H; row += 100) display.blitImage(0, row, W, 100, new Uint8Array(W * 100 * 4), 0); // a whole screen
      display.flip();
      updates++;
    }
    expect(updates).toBe(1); // half a screen held after the first: it waits for the queue
    let waited = false;
    void display.flush().then(() => (waited = true));
    await settle();
    expect(waited).toBe(false); // until the JPEG is drawn (or the stall guard ends the connection)
    const queued = (display._renderQ as Array<{ data?: Uint8Array }>).reduce((sum, e) => sum + (e.data?.byteLength ?? 0), 0);
    expect(queued).toBeLessThanOrEqual(2 * 4 * W * H);
    expect(refused).toEqual([]);
    started[0]!(null); // a JPEG that does not decode draws nothing; the queue goes on
    await settle();
    expect(waited).toBe(true);
    expect(display.pending()).toBe(false);
  });

  it('is not installed on a queue the bound does not count', () => {
    const display = { _renderQ: [], pending: () => false };
    expect(() => readAheadWhileDecoding({ _display: display } as unknown as RFB)).toThrow(/not bounded/);
    expect(() => readAheadWhileDecoding({} as RFB)).toThrow(/not 1.7/);
  });
});
