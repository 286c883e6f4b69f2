/**
 * Attack (a hostile cage's RFB bytes): a Tight full-colour rectangle far larger than the cage's
 * screen, even wholly off it. noVNC checks no rectangle against the framebuffer, and the in-memory
 * path (tightInMemory.ts) inflates `width × height × 3` bytes before the memory framebuffer clips
 * anything: noVNC's inflator grows its output buffer to that size and keeps it (one per zlib
 * stream, four of them). zlib inflates about 1000 bytes from one, and a Tight rectangle's data
 * may be 4 MiB long: each stream can be made to hold ~4 GiB in the viewer, from ~4 MiB sent.
 *
 * Here, with noVNC's own Tight decoder and inflator: an 800×600 screen, and a 4096×4096 rectangle
 * at x = 60000 (nowhere on it). What the viewer should do: refuse a rectangle that does not lie
 * within the framebuffer before reading it (RFB says it must), or at least inflate no more than
 * what the screen can show. Seen succeeding: the inflator keeps 48 MiB for a screen of 1.4 MiB.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { decodeTightInMemory } from './tightInMemory';
import { provideImageData } from './testing/nodeImageData';
import { compactLength, queue } from './testing/tightWire';

type Decoder = { _zlibs: Inflator[]; decodeRect: (...args: unknown[]) => boolean };
let TightDecoder: new () => Decoder;

beforeAll(async () => {
  // noVNC's own decoder (pinned to 1.7 in package.json; vitest.config.ts finds it in the package),
  // whose logging module reads `window` as it loads.
  (globalThis as { window?: unknown }).window ??= globalThis;
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: new () => Decoder }).default;
  provideImageData();
});

/** A zlib stream of `bytes` (the renderer has no Node: the browser's own compressor). */
async function zlibOf(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** noVNC's inflator (pako) keeps its output array, the viewer's (tightInflator.ts) its history and output. */
interface Inflator {
  strm?: { output: Uint8Array };
  buf?: Uint8Array;
}

describe('a hostile cage: a Tight rectangle larger than its screen', () => {
  it('makes the viewer inflate and keep no more than its screen can show', async () => {
    const screen = { w: 800, h: 600 };
    const fb = new MemoryFramebuffer();
    fb.resize(screen.w, screen.h);
    const tight = new TightDecoder();
    const display = { _renderQ: [] as unknown[], _damage: () => undefined };
    decodeTightInMemory({ _decoders: { 7: tight } } as unknown as RFB, fb);

    // 4096×4096 full-colour pixels, all black: 48 MiB of r, g, b, about 50 KiB compressed.
    const [w, h] = [4096, 4096];
    const compressed = await zlibOf(new Uint8Array(w * h * 3));
    // Compression control 0x00: stream 0, basic compression, the copy filter implied.
    const rect = new Uint8Array([0x00, ...compactLength(compressed.length), ...compressed]);
    let refused = false;
    try {
      tight.decodeRect(60000, 0, w, h, queue(rect), display, 24);
    } catch {
      refused = true; // a viewer refusing the rectangle (and the connection) is the right answer
    }
    const kept = tight._zlibs.reduce((sum, z) => sum + (z.strm?.output.byteLength ?? z.buf!.byteLength), 0);
    const screenRgb = screen.w * screen.h * 3;
    // What the attacker sees: ~1000× what it sent held by the viewer, for a screen it was never on.
    console.log(`sent ${compressed.length} bytes; the viewer's inflators keep ${kept} bytes (screen: ${screenRgb}); refused: ${refused}`);
    expect(kept).toBeLessThanOrEqual(4 * (32_768 + 102_400) + screenRgb);
  });
});
