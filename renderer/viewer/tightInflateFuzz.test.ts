/**
 * Differential fuzzing of tightInflator.ts against zlib (testing/tightFuzz.ts says what and how):
 * here against pako's port of zlib (noVNC's vendored copy, its deflate making the streams, its
 * inflate the reference), a few thousand deterministic cases; bench/tightInflateFuzz.ts runs the
 * same against Node's zlib for as long as asked (the renderer's tests have no Node).
 *
 * TIGHT_FUZZ_SECONDS=2400 TIGHT_FUZZ_SEED=… runs longer here too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type RFB from '@novnc/novnc';
import { MemoryFramebuffer } from './memoryFramebuffer';
import { decodeTightInMemory } from './tightInMemory';
import { TightInflateError, TightInflator } from './tightInflator';
import { provideImageData } from './testing/nodeImageData';
import { flawedRectangle, fuzz, rng, type Flaw, type Zlib } from './testing/tightFuzz';
import { compactLength, queue } from './testing/tightWire';

type Stream = Record<string, unknown> & { avail_out: number; next_out: number; avail_in: number; output: Uint8Array };
type Fn = (strm: Stream, flush: number) => number;
let pako: Zlib;
type Decoder = { _zlibs: unknown[]; decodeRect: (...args: unknown[]) => boolean };
let TightDecoder: new () => Decoder;

beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= globalThis;
  provideImageData();
  // @ts-expect-error noVNC ships no types for its internal modules
  TightDecoder = ((await import('@novnc/novnc/core/decoders/tight.js')) as { default: new () => Decoder }).default;
  // @ts-expect-error noVNC ships no types for its internal modules (its vendored pako: zlib, ported)
  const d = (await import('@novnc/novnc/vendor/pako/lib/zlib/deflate.js')) as { deflateInit2: (s: Stream, ...a: number[]) => number; deflate: Fn };
  // @ts-expect-error likewise
  const i = (await import('@novnc/novnc/vendor/pako/lib/zlib/inflate.js')) as { inflateInit: (s: Stream) => number; inflate: Fn };
  // @ts-expect-error likewise
  const ZStream = ((await import('@novnc/novnc/vendor/pako/lib/zlib/zstream.js')) as { default: new () => Stream }).default;
  pako = {
    name: 'pako',
    deflater(level, strategy, windowBits, memLevel) {
      const strm = new ZStream();
      if (d.deflateInit2(strm, level, 8, windowBits, memLevel, strategy) !== 0) throw new Error('deflateInit2');
      return (bytes, full) => {
        const out = new Uint8Array(bytes.length + (bytes.length >> 3) + 1024);
        Object.assign(strm, { input: bytes, avail_in: bytes.length, next_in: 0, output: out, avail_out: out.length, next_out: 0 });
        if (d.deflate(strm, full ? 3 : 2) !== 0 || strm.avail_out === 0) throw new Error('deflate');
        return out.slice(0, strm.next_out);
      };
    },
    inflate(data, limit) {
      // pako is zlib built INFLATE_STRICT: the header's window (CINFO) bounds distances. Node's zlib,
      // the reference, and tightInflator.ts reach 32 KiB back whatever it says: a header of a
      // smaller window is given to pako as one of 32 KiB.
      if (data.length >= 2 && (data[0]! & 0x8f) === 0x08 && data[0]! >> 4 < 7 && ((data[0]! << 8) | data[1]!) % 31 === 0) {
        data = data.slice();
        data[0] = 0x78;
        data[1] = (data[1]! & 0xe0) | (31 - ((0x7800 | (data[1]! & 0xe0)) % 31 || 31));
      }
      const strm = new ZStream();
      i.inflateInit(strm);
      const output = new Uint8Array(limit + 1);
      Object.assign(strm, { input: data, avail_in: data.length, next_in: 0, output, avail_out: output.length, next_out: 0 });
      const ret = i.inflate(strm, 2);
      if ((ret < 0 && ret !== -5) || ret === 2) return { error: `pako ${ret} ${String(strm.msg)}` };
      return { out: output.subarray(0, Math.min(strm.next_out, limit)), more: strm.next_out > limit };
    },
  };
});

describe('tightInflator.ts against zlib (pako), fuzzed', () => {
  it('refuses, or inflates what zlib inflates; writes nothing past the rectangle; accepts what zlib deflated', async () => {
    const seconds = Number(process.env.TIGHT_FUZZ_SECONDS ?? 0);
    const seed = Number(process.env.TIGHT_FUZZ_SEED ?? 1);
    const tally = await fuzz(pako, seed, seconds ? Infinity : 400, seconds || 60, undefined, (t, at) =>
      console.log(`${at}: ${t.cases} cases, ${t.rectangles} rectangles, ${t.findings.length} findings`),
    );
    console.log(JSON.stringify({ ...tally, findings: tally.findings.slice(0, 30) }, null, 1));
    expect(tally.findings).toEqual([]);
  }, 3_000_000);
});

/**
 * What the fuzzing found, each a fixed attack: blocks zlib refuses that the inflater inflated (a
 * cage could send them; what they meant was the inflater's guess). Each rectangle's size is what
 * the inflater would make of it, so only the check refuses it.
 */
describe('tightInflator.ts refuses what zlib refuses (the fuzzing\'s findings)', () => {
  const cases: [string, Flaw, 'fixed' | 'dynamic', RegExp][] = [
    ['literal/length symbols 286 and 287 of the fixed code (a copy of 260 or 261 bytes)', 'sym286', 'fixed', /an invalid literal or length/],
    ['distance codes 30 and 31 of the fixed code (32769 back, or no distance: zeros)', 'dist30', 'fixed', /an invalid distance|a distance beyond the stream/],
    ['a dynamic block of more than 286 literal/length codes', 'hlit', 'dynamic', /too many length or distance codes/],
    ['a dynamic block of more than 30 distance codes', 'hdist', 'dynamic', /too many length or distance codes/],
    ['an incomplete literal/length code', 'incompleteLit', 'dynamic', /an invalid Huffman code \(incomplete\)/],
    ['an incomplete distance code (of more than one code)', 'incompleteDist', 'dynamic', /an invalid Huffman code \(incomplete\)/],
    ['an incomplete code of the code lengths', 'incompleteCl', 'dynamic', /an invalid Huffman code \(incomplete\)/],
  ];
  for (const [what, flaw, only, message] of cases)
    it(what, () => {
      let accepted = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const { data, bytes } = flawedRectangle(seed, 200 + seed * 37, flaw, only);
        expect(pako.inflate(data, 1 << 20).error, `zlib refuses seed ${seed}`).toBeDefined();
        // The size the inflater makes of it, without the check: asked for exactly that.
        let size = bytes.length;
        const probe = new TightInflator();
        probe.setInput(data);
        try {
          probe.inflate(bytes.length + 200_000);
        } catch (e) {
          const n = /(\d+) bytes where the rectangle holds/.exec(String(e));
          if (n) size = Number(n[1]);
        }
        const inflator = new TightInflator();
        inflator.setInput(data);
        try {
          inflator.inflate(size);
          accepted++;
        } catch (e) {
          expect(e).toBeInstanceOf(TightInflateError);
          if (!/a distance beyond the stream|more bytes than|cut at the end/.test(String(e))) expect(String(e)).toMatch(message);
        }
      }
      expect(accepted).toBe(0);
    });
});

/**
 * noVNC 1.7's display reduced to what Tight's decoder calls, drawing into a MemoryFramebuffer; what
 * comes while its render queue holds something (a JPEG still decoding: `waiting`) is queued, in
 * order, and drawn by `flush`.
 */
function display(fb: MemoryFramebuffer, waiting: boolean) {
  type Action = { type: string; x: number; y: number; width: number; height: number; data?: Uint8Array; colour?: ArrayLike<number> };
  const draw = (a: Action) => {
    if (a.type === 'fill') fb.fill(a.x, a.y, a.width, a.height, a.colour![0]!, a.colour![1]!, a.colour![2]!);
    else if (a.type === 'blit') fb.blit(a.x, a.y, a.width, a.height, a.data!);
  };
  const d = {
    _renderQ: (waiting ? [{ type: 'wait', x: 0, y: 0, width: 0, height: 0 }] : []) as Action[],
    _renderQPush: (a: Action) => d._renderQ.push(a),
    _damage: () => undefined,
    fillRect: (x: number, y: number, width: number, height: number, colour: ArrayLike<number>) => {
      const a = { type: 'fill', x, y, width, height, colour: Array.from(colour).slice(0, 3) };
      if (d._renderQ.length) d._renderQ.push(a);
      else draw(a);
    },
    blitImage: (x: number, y: number, width: number, height: number, data: Uint8Array, offset: number) => {
      const a = { type: 'blit', x, y, width, height, data: data.slice(offset, offset + width * height * 4) };
      if (d._renderQ.length) d._renderQ.push(a);
      else draw(a);
    },
    flush: () => d._renderQ.splice(0).forEach(draw),
  };
  return d;
}

/** tightWire.ts's receive queue, with what noVNC's palette filter reads too. */
function sock(bytes: Uint8Array) {
  const q = queue(bytes);
  let at = 0;
  return {
    rQwait: (msg: string, n: number) => q.rQwait(msg, n),
    rQshift8: () => (at++, q.rQshift8()),
    rQshiftBytes: (n: number) => ((at += n), q.rQshiftBytes(n)),
    rQpeek8: () => bytes[at]!,
    rQskipBytes: (n: number) => void ((at += n), q.rQshiftBytes(n)),
    rQshiftTo: (to: Uint8Array, n: number) => to.set(((at += n), q.rQshiftBytes(n))),
  };
}

/**
 * Tight rectangles of every kind (fill; copy, palette of 2 to 256 colours, gradient, each raw below
 * 12 bytes, else deflated on one of four streams, reset by the control byte), some of their zlib
 * data mutated, some off the screen: drawn by the viewer's decoder (noVNC's wrapped by
 * tightInMemory.ts, tightInflator.ts inflating, full-colour rectangles written in memory) and by
 * noVNC's own (pako, its byte loops, its blits). Both draw the same pixels, or the viewer refuses
 * (a TightInflateError, on mutated data only; a rectangle off the screen always); what the viewer
 * draws noVNC's own decoder draws too.
 */
async function decoderCase(seed: number, stats: { rects: number; stricter: number; both: Record<string, number> }): Promise<string[]> {
  const r = rng(seed);
  const [W, H] = [8 + r.int(120), 8 + r.int(90)];
  const viewerFb = new MemoryFramebuffer();
  const ownFb = new MemoryFramebuffer();
  viewerFb.resize(W, H);
  ownFb.resize(W, H);
  const viewer = new TightDecoder();
  decodeTightInMemory({ _decoders: { 7: viewer } } as unknown as RFB, viewerFb);
  const own = new TightDecoder();
  // noVNC's pako keeps no history after a reset (below): its inflator made anew instead.
  const zlibs = own._zlibs as { reset(): void }[];
  const anew = (i: number, z: { reset(): void }) => {
    z.reset = () => anew(i, (zlibs[i] = new (z.constructor as new () => { reset(): void })()));
  };
  zlibs.forEach((z, i) => anew(i, z));
  const waiting = r.chance(0.3);
  const [vd, od] = [display(viewerFb, waiting), display(ownFb, waiting)];
  const deflaters = [0, 1, 2, 3].map(() => pako.deflater(r.int(10), 0, 15, 8));
  const problems: string[] = [];
  for (let n = 0; n < 12; n++) {
    const offScreen = r.chance(0.05);
    const w = 1 + r.int(offScreen ? W : Math.min(W, 64));
    const h = 1 + r.int(offScreen ? H : Math.min(H, 48));
    const x = offScreen ? W - w + 1 + r.int(4) : r.int(W - w + 1);
    const y = offScreen ? r.int(H) : r.int(H - h + 1);
    const stream = r.int(4);
    let ctl = 0;
    if (r.chance(0.1)) {
      ctl |= 1 << stream;
      deflaters[stream] = pako.deflater(r.int(10), 0, 15, 8);
    }
    const bytes: number[] = [];
    const kind = r.int(5);
    let mutated = false;
    if (kind === 0) bytes.push(ctl | 0x80, r.int(256), r.int(256), r.int(256));
    else {
      const filter = kind === 1 ? (r.chance(0.5) ? -1 : 0) : kind === 2 || kind === 3 ? 1 : 2;
      bytes.push(ctl | (stream << 4) | (filter >= 0 ? 0x40 : 0));
      if (filter >= 0) bytes.push(filter);
      let size = w * h * 3;
      if (filter === 1) {
        const colours = kind === 2 ? 2 : 3 + r.int(254);
        bytes.push(colours - 1);
        for (let i = 0; i < colours * 3; i++) bytes.push(r.int(256));
        size = Math.floor((w * (colours <= 2 ? 1 : 8) + 7) / 8) * h;
      }
      const raw = new Uint8Array(size);
      const run = 1 + r.int(8);
      for (let i = 0; i < size; i++) raw[i] = i % run === 0 || r.chance(0.3) ? r.int(256) : raw[i - 1]!;
      if (size < 12) bytes.push(...raw);
      else {
        let data = await deflaters[stream]!(raw, false);
        if (r.chance(0.15)) {
          mutated = true;
          data = data.slice(0, data.length - r.int(3));
          if (data.length) {
            const at = r.int(data.length);
            data[at] = data[at]! ^ (1 << r.int(8));
          }
        }
        bytes.push(...compactLength(data.length), ...data);
      }
    }
    stats.rects++;
    const run = (decoder: Decoder, d: unknown): unknown => {
      try {
        if (!decoder.decodeRect(x, y, w, h, sock(new Uint8Array(bytes)), d, 24)) return new Error('waits for more data');
        return null;
      } catch (e) {
        return e;
      }
    };
    const mine = run(viewer, vd);
    if (offScreen || x + w > W || y + h > H) {
      if (!mine) problems.push(`seed ${seed}: drew a rectangle off the screen`);
      break;
    }
    const theirs = run(own, od);
    if (mine && theirs) {
      stats.both[String(mine).slice(0, 60) + ' / ' + String(theirs).slice(0, 40)] = (stats.both[String(mine).slice(0, 60) + ' / ' + String(theirs).slice(0, 40)] ?? 0) + 1;
      break;
    }
    if (mine) {
      stats.stricter++;
      if (!mutated || !(mine instanceof TightInflateError)) problems.push(`seed ${seed} rect ${n}: the viewer refused what noVNC draws: ${String(mine)}`);
      return problems; // noVNC's own decoder drew it: the screens differ by it (the viewer's connection ends)
    }
    if (theirs) {
      problems.push(`seed ${seed} rect ${n}: the viewer drew what noVNC refuses: ${String(theirs)}`);
      break;
    }
  }
  vd.flush();
  od.flush();
  if (!Buffer.from(viewerFb.pixels).equals(Buffer.from(ownFb.pixels))) problems.push(`seed ${seed}: other pixels than noVNC's own decoder`);
  return problems;
}

describe("the viewer's Tight decoder against noVNC's own, fuzzed", () => {
  it('draws the pixels noVNC draws (fill, copy, palette, gradient; streams, resets, mutated data), or refuses', async () => {
    const seconds = Number(process.env.TIGHT_FUZZ_SECONDS ?? 0);
    const stats = { rects: 0, stricter: 0, both: {} as Record<string, number> };
    const problems: string[] = [];
    const until = performance.now() + (seconds || 60) * 1000;
    let cases = 0;
    for (let seed = Number(process.env.TIGHT_FUZZ_SEED ?? 1); (seconds || cases < 300) && performance.now() < until; seed++, cases++) problems.push(...(await decoderCase(seed, stats)));
    console.log(`decoder: ${cases} cases, ${stats.rects} rectangles, ${stats.stricter} refused where noVNC's own decoder draws; ${problems.length} problems; both refused: ${JSON.stringify(stats.both)}`);
    expect(problems.slice(0, 20)).toEqual([]);
  }, 3_000_000);
});

describe("noVNC's own inflator after a stream reset (found fuzzing the decoders against each other)", () => {
  it('pako keeps no history after a reset (its window not reallocated): a later rectangle copying from an earlier one is refused; tightInflator.ts inflates it', async () => {
    // @ts-expect-error noVNC ships no types for its internal modules
    const NoVncInflator = ((await import('@novnc/novnc/core/inflator.js')) as { default: new () => { setInput(d: Uint8Array | null): void; inflate(n: number): Uint8Array; reset(): void } }).default;
    const rows = new Uint8Array(3000).map((_, i) => (i * 7919) % 251);
    const results = [new NoVncInflator(), new TightInflator()].map((z) => {
      const before = pako.deflater(6, 0, 15, 8);
      z.setInput(before(rows, false) as Uint8Array);
      z.inflate(rows.length);
      z.reset(); // the control byte's reset: a new stream, its header first
      const after = pako.deflater(6, 0, 15, 8);
      z.setInput(after(rows, false) as Uint8Array);
      z.inflate(rows.length);
      z.setInput(after(rows, false) as Uint8Array); // the same rows: copies from the rectangle before
      try {
        return Buffer.from(z.inflate(rows.length)).equals(Buffer.from(rows)) ? 'drawn' : 'other bytes';
      } catch (e) {
        return String(e);
      }
    });
    expect(results).toEqual(['Error: zlib inflate failed', 'drawn']);
  });
});
