/**
 * Attack (a hostile cage's RFB bytes): the viewer's memory grows ~20 000 times what the cage sends,
 * every rectangle within the framebuffer, so rectangleGuard.ts lets each one through.
 *
 * How: one Tight JPEG rectangle first (any bytes: the viewer asks for no JPEG, encodingChoice.ts,
 * but noVNC decodes whatever encoding has a decoder). noVNC puts it in its render queue as an
 * Image still loading, and while that queue is not empty drawInMemory.ts hands every later fill,
 * blit and copy back to noVNC's canvas code, which queues a copy of the decoded pixels (4 bytes a
 * pixel, display.js blitImage). The image loads only when the renderer's event loop turns — and
 * never, if its bytes are no JPEG (noVNC waits for 'load', which a broken image never fires). The
 * rest of the update is decoded in the same turn: the gateway now forwards a whole update as one
 * WebSocket message (updateHold.ts, up to 256 KiB), and an update may hold 65 535 rectangles.
 * Each following rectangle: Tight, a 2-colour palette, the whole screen, its 60 000 bytes of
 * zeros deflated to ~100 bytes — and 1.9 MB queued for an 800×600 screen.
 *
 * Seen succeeding: 200 such rectangles (~21 KB sent) queue 366 MiB in the viewer, held for good
 * (the queue never drains behind the broken image; the next update waits for it); a whole
 * update's 65 535 would queue ~117 GiB, far past the renderer's memory (one held message of
 * 256 KiB alone: ~2 500 rectangles, ~4.5 GiB). What the viewer should do: queue nothing it could draw at once in memory, or
 * refuse (and disconnect) what it queues past a bound, as it refuses a rectangle off its screen.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { drawInMemory } from './drawInMemory';
import { guardRectangles } from './rectangleGuard';
import { decodeTightInMemory } from './tightInMemory';
import { provideImageData } from './testing/nodeImageData';

type Decoder = { decodeRect: (...args: unknown[]) => boolean };
let TightDecoder: new () => Decoder;
let DisplayPrototype: object;

/** The browser's Image as noVNC sees it in the same turn as its `src` was set: not loaded yet. */
class LoadingImage {
  complete = false;
  width = 0;
  height = 0;
  src = '';
  addEventListener(): void {}
  removeEventListener(): void {}
}

beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= globalThis;
  (globalThis as { Image?: unknown }).Image = LoadingImage;
  provideImageData();
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: new () => Decoder }).default;
  // @ts-expect-error noVNC ships no types for its internal modules
  DisplayPrototype = ((await import('@novnc/novnc/core/display.js')) as { default: { prototype: object } }).default.prototype;
});

/** noVNC's receive queue, reduced to what the Tight decoder reads. */
function queue(bytes: Uint8Array) {
  let at = 0;
  return {
    rQwait: (_msg: string, n: number) => bytes.length - at < n,
    rQshift8: () => bytes[at++]!,
    rQpeek8: () => bytes[at]!,
    rQskipBytes: (n: number) => void (at += n),
    rQshiftTo: (target: Uint8Array, n: number) => void target.set(bytes.subarray((at += n) - n, at)),
    rQshiftBytes: (n: number) => bytes.subarray((at += n) - n, at),
  };
}

/** A zlib stream of `bytes` (the renderer has no Node: the browser's own compressor). */
async function zlibOf(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function compactLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x4000) return [0x80 | (n & 0x7f), n >> 7];
  return [0x80 | (n & 0x7f), 0x80 | ((n >> 7) & 0x7f), n >> 14];
}

/** noVNC 1.7's Display without its canvases: the state drawInMemory.ts and the render queue use. */
function noVncDisplay(width: number, height: number) {
  const display = Object.create(DisplayPrototype) as Record<string, unknown>;
  const ctx = { putImageData: () => undefined, drawImage: () => undefined, fillRect: () => undefined };
  Object.assign(display, {
    _renderQ: [],
    _flushPromise: null,
    _fbWidth: width,
    _fbHeight: height,
    _prevDrawStyle: '',
    _targetCtx: ctx,
    _drawCtx: ctx,
    _backbuffer: { width, height },
    _viewportLoc: { x: 0, y: 0, w: width, h: height },
    _damageBounds: { left: 0, top: 0, right: width, bottom: height },
  });
  return display as { _renderQ: Array<{ data?: Uint8Array }> };
}

describe('a hostile cage: rectangles queued behind an image that is still loading', () => {
  it('make the viewer hold no more than a few screens, whatever it queues', async () => {
    const [w, h] = [800, 600];
    const display = noVncDisplay(w, h);
    const rfb = { _display: display } as unknown as RFB;
    const fb = drawInMemory(rfb, () => ({ getContext: () => null }) as unknown as HTMLCanvasElement);
    fb.resize(w, h);
    const tight = new TightDecoder();
    (rfb as unknown as { _decoders: Record<number, Decoder> })._decoders = { 7: tight };
    decodeTightInMemory(rfb, fb);

    // The viewer's own guard, in front of the decoder as viewerMain.ts installs it.
    const fbu = { x: 0, y: 0, width: w, height: h, encoding: 7 as number | null };
    let refused: string | null = null;
    let sock = queue(new Uint8Array(0));
    const internals = {
      _FBU: fbu,
      _fbWidth: w,
      _fbHeight: h,
      _handleDataRect: () => tight.decodeRect(fbu.x, fbu.y, fbu.width, fbu.height, sock, display, 24),
      _handleCursor: () => true,
      _handleVMwareCursor: () => true,
      disconnect: () => undefined,
    };
    guardRectangles(internals as unknown as RFB, (reason) => (refused = reason));
    const rect = (x: number, y: number, width: number, height: number, bytes: number[]) => {
      Object.assign(fbu, { x, y, width, height });
      sock = queue(new Uint8Array(bytes));
      try {
        return internals._handleDataRect();
      } catch {
        return false; // refused: the connection ends
      }
    };

    let sent = 0;
    // 1. A Tight JPEG rectangle of 16×16 whose bytes are no JPEG: queued as an Image that never loads.
    const jpeg = [0x90, ...compactLength(32), ...new Array<number>(32).fill(0xab)];
    expect(rect(0, 0, 16, 16, jpeg)).toBe(true);
    sent += 12 + jpeg.length;
    // 2. Whole-screen 2-colour palette rectangles, each its own zlib stream (control bit 0 resets stream 0).
    const zeros = await zlibOf(new Uint8Array(Math.ceil(w / 8) * h));
    const palette = [0x41, 0x01, 0x01, 0, 0, 0, 0xff, 0xff, 0xff, ...compactLength(zeros.length), ...zeros];
    const rectangles = 200;
    for (let i = 0; i < rectangles && refused === null; i++) {
      if (!rect(0, 0, w, h, palette)) break;
      sent += 12 + palette.length;
    }

    const held = display._renderQ.reduce((sum, entry) => sum + (entry.data?.byteLength ?? 0), 0);
    const screenBytes = w * h * 4;
    console.log(`sent ${sent} bytes in ${rectangles + 1} rectangles (refused: ${refused}); the render queue holds ${display._renderQ.length} entries, ${(held / 2 ** 20).toFixed(0)} MiB (screen: ${(screenBytes / 2 ** 20).toFixed(1)} MiB)`);
    expect(held).toBeLessThanOrEqual(4 * screenBytes);
  });
});
