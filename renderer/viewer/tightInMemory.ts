/**
 * Tight's full-colour rectangles (its "copy filter": zlib-inflated r, g, b) written straight into
 * the viewer's memory framebuffer (drawInMemory.ts), four bytes a pixel at once. noVNC 1.7 first
 * copies them byte by byte into a fresh RGBA array per rectangle, then draws that: on a scrolling
 * page, where most of what changes has more colours than Tight's palettes hold, that loop and its
 * garbage were the viewer's largest JavaScript cost per frame (bench/RESULTS.md, Firefox scroll).
 *
 * Behind a JPEG still decoding (jpegInMemory.ts) a rectangle waits in noVNC's render queue, as
 * RGBA converted once here (noVNC's own path converts byte by byte, then copies it again to queue
 * it). One too small to be compressed goes through noVNC's own code. Pinned to noVNC 1.7 (package.json), like the other
 * wrappers of its internals here.
 */
import type RFB from '@novnc/novnc';
import type { MemoryFramebuffer } from './memoryFramebuffer';
import { TightInflator } from './tightInflator';

const TIGHT = 7;
/** Below this many bytes Tight sends the pixels uncompressed (RFB's Tight specification). */
const TIGHT_MIN_TO_COMPRESS = 12;

interface Inflator {
  setInput(data: Uint8Array | null): void;
  inflate(expected: number): Uint8Array;
  reset(): void;
}
interface TightDecoderInternals {
  decodeRect(x: number, y: number, width: number, height: number, sock: unknown, display: unknown, depth: number): boolean;
  _zlibs: Inflator[];
  _readData(sock: unknown): Uint8Array | null;
  _copyFilter(streamId: number, x: number, y: number, width: number, height: number, sock: unknown, display: unknown, depth: number): boolean;
}
interface DisplayInternals {
  _renderQ: unknown[];
  _renderQPush(action: { type: 'blit'; data: Uint8Array; x: number; y: number; width: number; height: number }): void;
  _damage(x: number, y: number, w: number, h: number): void;
}

/**
 * `inflate`: who inflates Tight's four zlib streams (every filter's: copy, palette, gradient):
 * tightInflator.ts (fflate's inflate, bounded by the rectangle), or noVNC's pako as it comes (kept
 * for measuring: bench/RESULTS.md, inflate-11).
 */
export function decodeTightInMemory(rfb: RFB, fb: MemoryFramebuffer, inflate: 'fflate' | 'pako' = 'fflate'): void {
  const tight = (rfb as unknown as { _decoders?: Record<number, TightDecoderInternals> })._decoders?.[TIGHT];
  if (!tight || typeof tight.decodeRect !== 'function' || typeof tight._copyFilter !== 'function' || typeof tight._readData !== 'function' || !Array.isArray(tight._zlibs))
    throw new Error("noVNC's Tight decoder is not 1.7's: its rectangles cannot be decoded in memory");
  if (inflate === 'fflate') for (let i = 0; i < tight._zlibs.length; i++) tight._zlibs[i] = new TightInflator();
  // Nothing is inflated for a rectangle off the screen, whatever its filter (copy, palette,
  // gradient): the inflators would grow to its size and keep it. rectangleGuard.ts refuses it
  // first on a connection; this holds for the decoder itself.
  const decodeRect = tight.decodeRect.bind(tight);
  tight.decodeRect = (x, y, width, height, sock, display, depth) => {
    if (x + width > fb.width || y + height > fb.height) throw new Error(`Tight rectangle ${width}x${height} at ${x},${y} outside the ${fb.width}x${fb.height} framebuffer`);
    return decodeRect(x, y, width, height, sock, display, depth);
  };
  const original = tight._copyFilter.bind(tight);
  tight._copyFilter = (streamId, x, y, width, height, sock, display, depth) => {
    const size = width * height * 3;
    const shown = display as DisplayInternals;
    const queued = shown._renderQ.length !== 0;
    if (size < TIGHT_MIN_TO_COMPRESS || (queued && typeof shown._renderQPush !== 'function')) return original(streamId, x, y, width, height, sock, display, depth);
    const data = tight._readData(sock);
    if (data === null) return false; // the rest of the rectangle is still on its way
    const zlib = tight._zlibs[streamId]!;
    zlib.setInput(data);
    const rgb = zlib.inflate(size);
    zlib.setInput(null);
    if (queued) {
      shown._renderQPush({ type: 'blit', data: rgbToRgba(rgb, width * height), x, y, width, height });
      return true;
    }
    fb.rgb(x, y, width, height, rgb);
    shown._damage(x, y, width, height);
    return true;
  };
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `pixels` pixels of three bytes (r, g, b) as opaque RGBA, in a new array. */
function rgbToRgba(rgb: Uint8Array, pixels: number): Uint8Array {
  const rgba = new Uint8Array(pixels * 4);
  const words = new Uint32Array(rgba.buffer);
  if (littleEndian) for (let i = 0, from = 0; i < pixels; i++, from += 3) words[i] = (0xff000000 | (rgb[from + 2]! << 16) | (rgb[from + 1]! << 8) | rgb[from]!) >>> 0;
  else for (let i = 0, from = 0; i < pixels; i++, from += 3) words[i] = ((rgb[from]! << 24) | (rgb[from + 1]! << 16) | (rgb[from + 2]! << 8) | 0xff) >>> 0;
  return rgba;
}
