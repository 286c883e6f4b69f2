// @vitest-environment jsdom
/**
 * The rectangle guard (rectangleGuard.ts) on noVNC 1.7's own dispatch of a FramebufferUpdate's
 * rectangles (its RFB._handleRect, run on a connection reduced to what it reads): a rectangle of
 * pixels off the framebuffer is refused, whatever its encoding, before its decoder reads a byte;
 * a cursor has its own bound; a desktop size is no rectangle of pixels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { guardRectangles, MAX_CURSOR_SIDE, RectangleRefused } from './rectangleGuard';

type Handler = { _handleRect(): boolean };
let RfbClass: { prototype: Handler };
let encodings: Record<string, number>;
let TightDecoder: new () => { _zlibs: { strm: { output: Uint8Array } }[] };

beforeAll(async () => {
  // @ts-expect-error noVNC ships no types for its internal modules
  RfbClass = ((await import('@novnc/novnc/core/rfb.js')) as { default: typeof RfbClass }).default;
  // @ts-expect-error noVNC ships no types for its internal modules
  encodings = ((await import('@novnc/novnc/core/encodings.js')) as { encodings: Record<string, number> }).encodings;
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: typeof TightDecoder }).default;
});

/** noVNC's receive queue, reduced to what its decoders read. */
function queue(bytes: Uint8Array) {
  let at = 0;
  return {
    rQwait: (_msg: string, n: number) => bytes.length - at < n,
    rQpeek8: () => bytes[at]!,
    rQshift8: () => bytes[at++]!,
    rQshift32: () => ((bytes[at++]! << 24) | (bytes[at++]! << 16) | (bytes[at++]! << 8) | bytes[at++]!) >>> 0,
    rQskipBytes: (n: number) => void (at += n),
    rQshiftBytes: (n: number) => bytes.subarray((at += n) - n, at),
    rQshiftTo: (target: Uint8Array, n: number) => void target.set(bytes.subarray((at += n) - n, at)),
  };
}

/** A connection on an 800×600 framebuffer, its rectangle `rect` read, noVNC's decoders replaced by `decoders`. */
function connection(rect: { x: number; y: number; width: number; height: number; encoding: number }, decoders: Record<number, unknown> = {}, sock = queue(new Uint8Array())) {
  const calls: string[] = [];
  const recording = { decodeRect: () => (calls.push('decoded'), true) };
  const rfb = Object.assign(Object.create(RfbClass.prototype) as Handler, {
    _FBU: { rects: 1, ...rect },
    _fbWidth: 800,
    _fbHeight: 600,
    _fbDepth: 24,
    _decoders: new Proxy(decoders, { get: (own, key) => own[key as unknown as number] ?? recording }),
    _sock: sock,
    _display: { _renderQ: [], _damage: () => undefined, fillRect: () => undefined, blitImage: () => undefined },
    _resize: (w: number, h: number) => calls.push(`resize ${w}x${h}`),
    _updateCursor: (_rgba: unknown, x: number, y: number, w: number, h: number) => calls.push(`cursor ${w}x${h} hotspot ${x},${y}`),
    _fail: (why: string) => calls.push(`failed: ${why}`),
    disconnect: () => calls.push('disconnect'),
  });
  guardRectangles(rfb as unknown as RFB, (reason) => calls.push(`refused: ${reason}`));
  return { rfb, calls };
}

describe('the rectangle guard, on noVNC 1.7 dispatching a rectangle', () => {
  const dataEncodings = () => ['encodingRaw', 'encodingCopyRect', 'encodingRRE', 'encodingHextile', 'encodingZlib', 'encodingTight', 'encodingZRLE', 'encodingTightPNG', 'encodingJPEG', 'encodingH264'].map((name) => [name, encodings[name]!] as const);

  it('lets a rectangle within the framebuffer reach its decoder, whatever its encoding', () => {
    for (const [name, encoding] of dataEncodings()) {
      expect(encoding, name).toBeTypeOf('number');
      for (const [x, y, width, height] of [[0, 0, 800, 600], [790, 590, 10, 10], [800, 600, 0, 0]]) {
        const { rfb, calls } = connection({ x: x!, y: y!, width: width!, height: height!, encoding });
        expect(rfb._handleRect(), name).toBe(true);
        expect(calls, name).toEqual(['decoded']);
      }
    }
  });

  it('refuses one that reaches past the framebuffer, whatever its encoding, before its decoder reads it, and disconnects at once', () => {
    for (const [name, encoding] of dataEncodings())
      for (const [x, y, width, height] of [[60000, 0, 4096, 4096], [790, 0, 11, 10], [0, 591, 10, 10], [0, 0, 65535, 65535], [65535, 65535, 1, 1]]) {
        const { rfb, calls } = connection({ x: x!, y: y!, width: width!, height: height!, encoding });
        expect(() => rfb._handleRect(), name).toThrow(RectangleRefused);
        expect(calls, name).toEqual([`refused: rectangle ${width}x${height} at ${x},${y} (encoding ${encoding}) outside the 800x600 framebuffer`, 'disconnect']);
      }
  });

  it("refuses noVNC's own Tight decoder's palette rectangle off the screen before it inflates a byte", async () => {
    // 4096×4096 two-colour pixels: 2 MiB of bits, a few KiB compressed, at x 60000 on 800×600.
    const [width, height] = [4096, 4096];
    const bits = new Uint8Array(((width + 7) >> 3) * height);
    const pixels = new ReadableStream<BufferSource>({ start: (c) => (c.enqueue(bits), c.close()) });
    const compressed = new Uint8Array(await new Response(pixels.pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
    const length = compressed.length;
    // Stream 0 with its filter named: the palette filter, two colours (black, white), then the pixels' zlib data.
    const rect = new Uint8Array([0x40, 1, 1, 0, 0, 0, 255, 255, 255, 0x80 | (length & 0x7f), 0x80 | ((length >> 7) & 0x7f), length >> 14, ...compressed]);
    const tight = new TightDecoder();
    const { rfb, calls } = connection({ x: 60000, y: 0, width, height, encoding: encodings.encodingTight! }, { [encodings.encodingTight!]: tight }, queue(rect));
    expect(() => rfb._handleRect()).toThrow(RectangleRefused);
    expect(calls.at(-1)).toBe('disconnect');
    expect(tight._zlibs.reduce((sum, z) => sum + z.strm.output.byteLength, 0)).toBeLessThanOrEqual(4 * 102_400);
  });

  it('lets a cursor of its own size through, its hotspot not a place on the screen; refuses one no X server makes', () => {
    for (const encoding of [encodings.pseudoEncodingCursor!, encodings.pseudoEncodingVMwareCursor!]) {
      // A band-wide cursor larger than the screen, its hotspot at its bottom (e2e's hostile cage): allowed by the guard.
      const wide = connection({ x: 640, y: 95, width: 1280, height: 96, encoding }, {}, queue(new Uint8Array(1 + 1 + 1280 * 96 * 8)));
      expect(wide.rfb._handleRect()).toBe(true);
      expect(wide.calls).toEqual(['cursor 1280x96 hotspot 640,95']);
      const hidden = connection({ x: 0, y: 0, width: 0, height: 0, encoding }, {}, queue(new Uint8Array(2)));
      expect(hidden.rfb._handleRect()).toBe(true);
      for (const [x, y, width, height] of [[0, 0, MAX_CURSOR_SIDE + 1, 1], [0, 0, 1, 65535], [32, 0, 32, 32], [0, 40, 32, 32]]) {
        const { rfb, calls } = connection({ x: x!, y: y!, width: width!, height: height!, encoding }, {}, queue(new Uint8Array(64)));
        expect(() => rfb._handleRect()).toThrow(RectangleRefused);
        expect(calls).toEqual([`refused: cursor ${width}x${height} with its hotspot at ${x},${y}: no cursor X allows`, 'disconnect']);
      }
    }
  });

  it('leaves a desktop size to the framebuffer guard: no rectangle of pixels, its x and y not looked at', () => {
    const { rfb, calls } = connection({ x: 60000, y: 60000, width: 1920, height: 1080, encoding: encodings.pseudoEncodingDesktopSize! });
    expect(rfb._handleRect()).toBe(true);
    expect(calls).toEqual(['resize 1920x1080']);
  });
});
