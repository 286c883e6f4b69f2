/**
 * Tight's zlib streams as the viewer inflates them (tightInflator.ts, fflate's inflate bounded by
 * the rectangle) against noVNC's own inflator (pako), through noVNC 1.7's Tight decoder wrapped as
 * the viewer wraps it (tightInMemory.ts).
 *
 * Correctness: streams made by zlib's deflate (pako's port of it, the one noVNC vendors; the
 * renderer's tests have no Node) with a sync flush after every rectangle, as Tight servers send
 * them: four streams, the dictionary carried from one rectangle to the next, streams reset by the
 * control byte, every compression level and strategy. The real Xvnc's streams of a scroll are
 * checked byte for byte by the inflate micro-benchmark (bench/inflate.bench.ts).
 *
 * Attack (a hostile cage's RFB bytes, both inflators): a rectangle whose data inflates to more than
 * its bytes (a bomb: ~4 MiB of data, ~1000× that inflated), to fewer, a block that never ends, a
 * corrupt stream, a stream reset in its middle. What the viewer must do: throw (noVNC then ends
 * the connection, showing the message), keep no more than the rectangle's bytes, and return.
 * Seen with pako: a rectangle whose data holds more than its bytes is drawn, the rest of its
 * data dropped (the stream is then out of step; nothing is allocated beyond the rectangle).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { decodeTightInMemory } from './tightInMemory';
import { TightInflator } from './tightInflator';
import { provideImageData } from './testing/nodeImageData';
import { compactLength, deflateBits, queue } from './testing/tightWire';

type Decoder = { _zlibs: unknown[]; decodeRect: (...args: unknown[]) => boolean };
let TightDecoder: new () => Decoder;
type Stream = Record<string, unknown> & { avail_out: number; next_out: number };
let deflateInit2: (strm: Stream, level: number, method: number, windowBits: number, memLevel: number, strategy: number) => number;
let deflate: (strm: Stream, flush: number) => number;
let ZStream: new () => Stream;
const Z_SYNC_FLUSH = 2;

beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= globalThis;
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: new () => Decoder }).default;
  // @ts-expect-error likewise (noVNC's vendored pako: zlib's deflate, ported)
  ({ deflateInit2, deflate } = await import('@novnc/novnc/vendor/pako/lib/zlib/deflate.js'));
  // @ts-expect-error likewise
  ZStream = ((await import('@novnc/novnc/vendor/pako/lib/zlib/zstream.js')) as { default: new () => Stream }).default;
  provideImageData();
});

/** One zlib stream, each rectangle's bytes deflated then sync-flushed (what a Tight server sends). */
function deflater(level: number, strategy = 0): (bytes: Uint8Array) => Uint8Array {
  const strm = new ZStream();
  if (deflateInit2(strm, level, 8, 15, 8, strategy) !== 0) throw new Error('deflateInit2');
  return (bytes) => {
    const out = new Uint8Array(bytes.length + (bytes.length >> 8) + 1024);
    Object.assign(strm, { input: bytes, avail_in: bytes.length, next_in: 0, output: out, avail_out: out.length, next_out: 0 });
    if (deflate(strm, Z_SYNC_FLUSH) !== 0 || strm.avail_out === 0) throw new Error('deflate');
    return out.slice(0, strm.next_out);
  };
}

/** A deterministic screen-like rectangle: runs of a few colours, some noise, rows repeated. */
function pixels(seed: number, size: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) & 0xffff;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; ) {
    const kind = rnd() % 8;
    const run = 1 + (rnd() % 200);
    if (kind === 0) for (let j = 0; j < run && i < size; j++) out[i++] = rnd() & 0xff;
    else if (kind === 1 && i > 300) {
      const from = i - 3 * (1 + (rnd() % 100));
      for (let j = 0; j < run * 3 && i < size; j++) out[i++] = out[from + j]!;
    } else {
      const [r, g, b] = [rnd() & 0xff, rnd() & 0xff, rnd() & 0xff];
      for (let j = 0; j < run && i + 3 <= size; j++) out.set([r, g, b], (i += 3) - 3);
      if (i + 3 > size) i = size;
    }
  }
  return out;
}

describe("Tight's zlib streams inflated by tightInflator.ts", () => {
  it('gives what zlib deflated: four streams, sync flushes, the dictionary carried over, resets, every level and strategy', () => {
    for (const [level, strategy] of [[0, 0], [1, 0], [2, 0], [6, 0], [9, 0], [6, 1], [6, 2], [6, 3], [6, 4]] as const) {
      const inflators = [0, 1, 2, 3].map(() => new TightInflator());
      const deflaters = [0, 1, 2, 3].map(() => deflater(level, strategy));
      let previous: Uint8Array = new Uint8Array(0);
      for (let n = 0; n < 120; n++) {
        const stream = n % 4;
        if (n % 37 === 36) {
          // The server resets the stream (Tight's control byte): a new zlib stream, its header first.
          deflaters[stream] = deflater(level, strategy);
          inflators[stream]!.reset();
        }
        const size = n % 11 === 0 ? 200_000 + n : 12 + ((n * 7919) % 40_000);
        // Every fifth rectangle repeats the one before: inflated from the previous one's history.
        const bytes = n % 5 === 4 && previous.length >= size ? previous.slice(0, size) : pixels(n + level * 1000 + strategy, size);
        const data = deflaters[stream]!(bytes);
        inflators[stream]!.setInput(data);
        const got = inflators[stream]!.inflate(size);
        inflators[stream]!.setInput(null);
        expect(got.length).toBe(size);
        expect(Buffer.from(got).equals(Buffer.from(bytes)), `level ${level} strategy ${strategy} rectangle ${n}`).toBe(true);
        previous = bytes;
      }
    }
  });

  it('draws what noVNC draws through its decoder (copy filter, streams and resets of the control byte)', () => {
    const [w, h] = [64, 48];
    const draw = (inflate: 'fflate' | 'pako') => {
      const fb = new MemoryFramebuffer();
      fb.resize(w, h);
      const tight = new TightDecoder();
      decodeTightInMemory({ _decoders: { 7: tight } } as unknown as RFB, fb, inflate);
      const display = { _renderQ: [] as unknown[], _damage: () => undefined };
      const deflaters = [0, 1, 2, 3].map(() => deflater(2));
      for (let n = 0; n < 40; n++) {
        const stream = n % 4;
        const reset = n % 13 === 12;
        if (reset) deflaters[stream] = deflater(2);
        const [rw, rh] = [8 + (n % 5) * 8, 4 + (n % 7) * 6];
        const data = deflaters[stream]!(pixels(n, rw * rh * 3));
        const ctl = (stream << 4) | (reset ? 1 << stream : 0);
        expect(tight.decodeRect(n % 3, n % 2, rw, rh, queue(new Uint8Array([ctl, ...compactLength(data.length), ...data])), display, 24)).toBe(true);
      }
      return Buffer.from(fb.pixels);
    };
    expect(draw('fflate').equals(draw('pako'))).toBe(true);
  });
});

/**
 * A zlib bomb made by hand: a header, one fixed-Huffman block of a literal then `matches` copies
 * of 258 bytes at distance 1 (13 bits each), then a sync flush: ~258 × 8 / 13 ≈ 159× per byte sent.
 */
function bomb(matches: number): Uint8Array {
  const out = new Uint8Array(2 + Math.ceil((3 + 8 + matches * 13 + 7 + 3) / 8) + 5);
  out.set([0x78, 0x01]);
  const w = deflateBits(out, 16);
  const { put, putCode } = w;
  put(0, 1); // not final
  put(1, 2); // fixed Huffman
  putCode(0x30, 8); // literal 0
  for (let i = 0; i < matches; i++) {
    putCode(0xc5, 8); // length code 285 (258 bytes): 11000101
    putCode(0, 5); // distance code 0 (1)
  }
  putCode(0, 7); // end of block
  put(0, 3); // the sync flush's empty stored block
  const end = (w.bit + 7) >> 3;
  out.set([0, 0, 0xff, 0xff], end);
  return out.subarray(0, end + 4);
}

/**
 * Empty dynamic-Huffman blocks, each with a literal code 15 bits deep (a table of 2^15 entries for
 * an inflater that builds one level, as fflate does; zlib's are two-level and bounded): ~25 bytes
 * sent a block, then a sync flush.
 */
function tableFlood(blocks: number): Uint8Array {
  const out = new Uint8Array(2 + Math.ceil((blocks * 200 + 40) / 8));
  out.set([0x78, 0x01]);
  const w = deflateBits(out, 16);
  const { put, putCode } = w;
  for (let b = 0; b < blocks; b++) {
    put(0, 1);
    put(2, 2); // dynamic Huffman
    put(0, 5); // 257 literal/length codes
    put(0, 5); // 1 distance code
    put(15, 4); // 19 code length codes: lengths 1–15 in 4 bits (code: length − 1), 0 and 18 in 5 (11110, 11111)
    for (const sym of [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]) put(sym === 16 || sym === 17 ? 0 : sym === 18 || sym === 0 ? 5 : 4, 3);
    for (let len = 1; len <= 15; len++) putCode(len - 1, 4); // symbols 0–14: lengths 1 to 15
    putCode(0b11111, 5); // 138 zeros
    put(138 - 11, 7);
    putCode(0b11111, 5); // 103 zeros (symbols 153–255)
    put(103 - 11, 7);
    putCode(14, 4); // end of block: 15 bits (a complete code: 1, 2, … 14, 15, 15)
    putCode(0, 4); // the distance code: 1 bit
    putCode(0x7fff, 15); // end of block
  }
  put(0, 3); // the sync flush's empty stored block
  const end = (w.bit + 7) >> 3;
  out.set([0, 0, 0xff, 0xff], end);
  return out.subarray(0, end + 4);
}

type Inflate = 'fflate' | 'pako';
/** The viewer's Tight decoder on a 1920×1080 screen, one rectangle of `w`×`h` at 0,0 on stream 0. */
function viewer(inflate: Inflate) {
  const fb = new MemoryFramebuffer();
  fb.resize(1920, 1080);
  const tight = new TightDecoder();
  decodeTightInMemory({ _decoders: { 7: tight } } as unknown as RFB, fb, inflate);
  const display = { _renderQ: [] as unknown[], _damage: () => undefined };
  const send = (w: number, h: number, data: Uint8Array, ctl = 0x00): { refused: string | null; ms: number } => {
    const bytes = new Uint8Array(1 + 3 + data.length);
    const length = compactLength(data.length);
    bytes.set([ctl, ...length]);
    bytes.set(data, 1 + length.length);
    const sock = queue(bytes.subarray(0, 1 + length.length + data.length));
    const started = performance.now();
    try {
      tight.decodeRect(0, 0, w, h, sock, display, 24);
      return { refused: null, ms: performance.now() - started };
    } catch (e) {
      return { refused: String(e), ms: performance.now() - started };
    }
  };
  /** The bytes the stream's inflator holds. */
  const kept = () => {
    const z = tight._zlibs[0] as { strm?: { output: Uint8Array }; buf?: Uint8Array };
    return z.strm?.output.byteLength ?? z.buf!.byteLength;
  };
  return { send, kept };
}

describe('a hostile cage: Tight zlib data that is not what its rectangle says', () => {
  for (const inflate of ['pako', 'fflate'] as const) {
    it(`${inflate}: a bomb (4 MiB of data, ~650 MiB inflated) for a 10×10 rectangle`, () => {
      const v = viewer(inflate);
      const data = bomb(2_580_000);
      expect(data.length).toBeLessThan(4 * 1024 * 1024);
      const { refused, ms } = v.send(10, 10, data);
      console.log(`${inflate}: bomb of ${data.length} bytes for 300: refused ${refused}, ${ms.toFixed(0)} ms, inflator keeps ${v.kept()} bytes`);
      if (inflate === 'fflate') expect(refused).toMatch(/more bytes than the rectangle holds/);
      else expect(refused).toBeNull(); // pako: drawn, its data's rest dropped (see above)
      expect(v.kept()).toBeLessThanOrEqual(32768 + 102_400);
    });

    it(`${inflate}: the same bomb for a whole screen (1920×1080) inflates no more than the screen`, () => {
      const v = viewer(inflate);
      const { refused, ms } = v.send(1920, 1080, bomb(2_580_000));
      console.log(`${inflate}: bomb for a screen: refused ${refused}, ${ms.toFixed(0)} ms, inflator keeps ${v.kept()} bytes`);
      if (inflate === 'fflate') expect(refused).toMatch(/more bytes than the rectangle holds/);
      expect(v.kept()).toBeLessThanOrEqual(32768 + 1920 * 1080 * 3);
    });

    it(`${inflate}: ~4 MiB of empty blocks with the deepest Huffman tables, for a 10×10 rectangle`, () => {
      const v = viewer(inflate);
      const data = tableFlood(160_000);
      expect(data.length).toBeLessThan(4 * 1024 * 1024);
      const { refused, ms } = v.send(10, 10, data);
      console.log(`${inflate}: table flood of ${data.length} bytes: refused ${refused}, ${ms.toFixed(0)} ms`);
      expect(refused).toMatch(inflate === 'fflate' ? /more Huffman tables than the rectangle needs/ : /Incomplete zlib block/);
    });

    it(`${inflate}: data inflating to fewer bytes than the rectangle`, () => {
      const v = viewer(inflate);
      const { refused } = v.send(10, 10, deflater(6)(pixels(1, 100)));
      expect(refused).toMatch(inflate === 'fflate' ? /100 bytes where the rectangle holds 300/ : /Incomplete zlib block/);
    });

    it(`${inflate}: a block that never ends (the data cut before its end and its flush)`, () => {
      const v = viewer(inflate);
      const data = deflater(6)(pixels(2, 3000));
      const { refused } = v.send(10, 100, data.subarray(0, data.length - 40));
      expect(refused).toMatch(inflate === 'fflate' ? /cut at the end of the rectangle/ : /Incomplete zlib block/);
    });

    it(`${inflate}: a corrupt stream`, () => {
      const v = viewer(inflate);
      const data = deflater(6)(pixels(3, 3000));
      for (let i = 10; i < data.length; i += 7) data[i] = data[i]! ^ 0x5a;
      const { refused } = v.send(10, 100, data);
      expect(refused).not.toBeNull();
    });

    it(`${inflate}: a stream reset in its middle (the control byte's flag, the data going on without a header)`, () => {
      const v = viewer(inflate);
      const z = deflater(6);
      expect(v.send(10, 100, z(pixels(4, 3000))).refused).toBeNull();
      const { refused } = v.send(10, 100, z(pixels(5, 3000)), 0x01);
      expect(refused).toMatch(inflate === 'fflate' ? /zlib header/ : /zlib inflate failed/);
    });

    it(`${inflate}: a final block (a Tight stream never ends), then more on the stream`, () => {
      const v = viewer(inflate);
      const strm = deflater(6);
      const first = strm(pixels(6, 300));
      // The same stream, its end marked: BFINAL set on its first block.
      const ended = first.slice();
      ended[2]! |= 1;
      const { refused } = v.send(10, 10, ended);
      console.log(`${inflate}: a final block: refused ${refused}`);
      if (inflate === 'fflate') expect(refused).toMatch(/final block/);
    });
  }
});
