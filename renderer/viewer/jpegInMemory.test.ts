/**
 * Tight's JPEG rectangles decoded into the memory framebuffer, in the order of noVNC's own render
 * queue (its 1.7 _renderQPush and _scanRenderQ, run here on a stand-in display): what comes after a
 * JPEG waits for its decode; a JPEG that does not decode draws nothing and the queue goes on; the
 * pixels a cage can make the viewer hold while decoding stay bounded by the screen's size.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { decodeJpegInMemory, type DecodedPixels, type JpegDecode } from './jpegInMemory';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { provideImageData } from './testing/nodeImageData';

interface QueueMethods {
  _renderQPush(action: unknown): void;
  _scanRenderQ(): void;
}
let noVncQueue: QueueMethods;

beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= globalThis; // noVNC's logging reads it as it loads
  // @ts-expect-error noVNC ships no types for its internal modules
  noVncQueue = ((await import('@novnc/novnc/core/display.js')) as { default: { prototype: QueueMethods } }).default.prototype;
  provideImageData();
});

/** noVNC 1.7's display with its real render queue; drawing goes to a memory framebuffer, as drawInMemory.ts does. */
function queueDisplay(width: number, height: number) {
  const fb = new MemoryFramebuffer();
  fb.resize(width, height);
  const log: string[] = [];
  const display = {
    _renderQ: [] as unknown[],
    _flushPromise: null,
    _flushResolve: null,
    _renderQPush: noVncQueue._renderQPush,
    _scanRenderQ: noVncQueue._scanRenderQ,
    _damage: (x: number, y: number, w: number, h: number) => void log.push(`damage ${x},${y} ${w}x${h}`),
    imageRect: (_x: number, _y: number, _w: number, _h: number, mime: string, _data: Uint8Array) => void log.push(`noVNC image ${mime}`),
    drawImage: () => void log.push('canvas drawImage'),
    fillRect(x: number, y: number, w: number, h: number, colour: number[], fromQueue?: boolean) {
      if (this._renderQ.length !== 0 && !fromQueue) return this._renderQPush({ type: 'fill', x, y, width: w, height: h, color: colour });
      fb.fill(x, y, w, h, colour[0]!, colour[1]!, colour[2]!);
      log.push(`fill ${colour[0]}`);
    },
    flip(fromQueue?: boolean) {
      if (this._renderQ.length !== 0 && !fromQueue) return this._renderQPush({ type: 'flip' });
      log.push('flip');
    },
  };
  return { fb, log, display, rfb: { _display: display } as unknown as RFB };
}

/** A decoder whose answers the test gives, one per JPEG, in the order they were started. */
function heldDecoder() {
  const started: Array<{ jpeg: Uint8Array; answer: (p: DecodedPixels | null | Error) => void }> = [];
  const decode: JpegDecode = (jpeg) =>
    new Promise((resolve, reject) => started.push({ jpeg, answer: (p) => (p instanceof Error ? reject(p) : resolve(p)) }));
  return { started, decode };
}

/** A JPEG's start (SOI, an APP0 segment, a baseline SOF0) declaring `width`×`height`; no scan follows. */
const jpegDeclaring = (width: number, height: number) =>
  new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0x4a, 0x46, 0xff, 0xc0, 0, 11, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
const rgba = (width: number, height: number, value: number): DecodedPixels => ({ rgba: new Uint8Array(width * height * 4).fill(value) });
const settle = () => new Promise((r) => setTimeout(r, 0));
const at = (fb: MemoryFramebuffer, x: number, y: number) => fb.pixels[(y * fb.width + x) * 4];

describe("Tight's JPEG rectangles decoded in memory", () => {
  it("draws each in noVNC's order: what follows a JPEG waits for its decode", async () => {
    const { fb, log, display, rfb } = queueDisplay(4, 4);
    const { started, decode } = heldDecoder();
    decodeJpegInMemory(rfb, fb, decode);
    const bytes = jpegDeclaring(4, 2);
    display.imageRect(0, 0, 4, 2, 'image/jpeg', bytes);
    bytes.fill(0); // noVNC's receive queue is reused: the decoder must have its own copy
    display.fillRect(0, 0, 1, 1, [9, 9, 9]);
    display.flip();
    expect(log).toEqual([]);
    expect(started[0]!.jpeg).toEqual(jpegDeclaring(4, 2));
    started[0]!.answer(rgba(4, 2, 200));
    await settle();
    expect(log).toEqual(['damage 0,0 4x2', 'fill 9', 'flip']);
    expect(at(fb, 0, 0)).toBe(9); // the fill after the JPEG is on top of it
    expect(at(fb, 3, 1)).toBe(200);
    expect(at(fb, 0, 2)).toBe(0);
    expect(display._renderQ).toEqual([]);
  });

  it('draws nothing for a JPEG that does not decode, and goes on with the queue', async () => {
    const { fb, log, display, rfb } = queueDisplay(4, 4);
    const { started, decode } = heldDecoder();
    decodeJpegInMemory(rfb, fb, decode);
    display.imageRect(0, 0, 4, 4, 'image/jpeg', jpegDeclaring(4, 4));
    display.imageRect(0, 0, 2, 2, 'image/jpeg', jpegDeclaring(2, 2));
    display.fillRect(3, 3, 1, 1, [7, 7, 7]);
    started[0]!.answer(new Error('not a JPEG'));
    started[1]!.answer(null); // decoded, but not to its rectangle's size
    await settle();
    expect(log).toEqual(['damage 0,0 4x4', 'damage 0,0 2x2', 'fill 7']);
    expect(at(fb, 0, 0)).toBe(0);
    expect(at(fb, 3, 3)).toBe(7);
    expect(display._renderQ).toEqual([]);
  });

  it('starts no decode past two screens of pixels not yet drawn until the one before it is done', async () => {
    const { fb, display, rfb } = queueDisplay(4, 4);
    const { started, decode } = heldDecoder();
    decodeJpegInMemory(rfb, fb, decode);
    for (let i = 0; i < 4; i++) display.imageRect(0, 0, 4, 4, 'image/jpeg', jpegDeclaring(4, 4));
    expect(started).toHaveLength(2); // two whole screens decoding; the third waits
    started[0]!.answer(rgba(4, 4, 1));
    await settle();
    expect(started).toHaveLength(2); // the one before the third is still decoding
    started[1]!.answer(rgba(4, 4, 2));
    await settle();
    expect(started).toHaveLength(3);
    started[2]!.answer(rgba(4, 4, 3));
    await settle();
    expect(started).toHaveLength(4);
    started[3]!.answer(rgba(4, 4, 4));
    await settle();
    expect(at(fb, 2, 2)).toBe(4);
    expect(display._renderQ).toEqual([]);
  });

  it("leaves other images to noVNC's own path", () => {
    const { fb, log, display, rfb } = queueDisplay(4, 4);
    const { started, decode } = heldDecoder();
    decodeJpegInMemory(rfb, fb, decode);
    display.imageRect(0, 0, 4, 4, 'image/png', new Uint8Array([1]));
    display.imageRect(0, 0, 0, 4, 'image/jpeg', new Uint8Array([1])); // empty: nothing to draw, as noVNC
    expect(log).toEqual(['noVNC image image/png']);
    expect(started).toHaveLength(0);
  });
});

describe('a hostile cage: a JPEG declaring more pixels than its rectangle', () => {
  it('is never handed to the decoder, which sizes its work by that header', async () => {
    const { fb, log, display, rfb } = queueDisplay(4, 4);
    const { started, decode } = heldDecoder();
    decodeJpegInMemory(rfb, fb, decode);
    // 4×4 on the wire, 30000×30000 in its header: ~1.3 GB of planes from 21 bytes.
    display.imageRect(0, 0, 4, 4, 'image/jpeg', jpegDeclaring(30000, 30000));
    display.imageRect(0, 0, 4, 4, 'image/jpeg', new Uint8Array([0xff, 0xd8, 0xff, 0xda])); // a scan before any frame header
    display.fillRect(0, 0, 1, 1, [5, 5, 5]);
    await settle();
    expect(started).toHaveLength(0);
    expect(log).toEqual(['damage 0,0 4x4', 'damage 0,0 4x4', 'fill 5']); // nothing drawn for them; the queue goes on
    display.imageRect(0, 0, 4, 4, 'image/jpeg', jpegDeclaring(4, 4));
    expect(started).toHaveLength(1);
  });
});
