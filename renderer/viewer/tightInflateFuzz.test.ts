/**
 * Differential fuzzing of tightInflator.ts against zlib (testing/tightFuzz.ts says what and how):
 * here against pako's port of zlib (noVNC's vendored copy, its deflate making the streams, its
 * inflate the reference), a few thousand deterministic cases; bench/tightInflateFuzz.ts runs the
 * same against Node's zlib for as long as asked (the renderer's tests have no Node).
 *
 * TIGHT_FUZZ_SECONDS=2400 TIGHT_FUZZ_SEED=… runs longer here too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TightInflateError, TightInflator } from './tightInflator';
import { flawedRectangle, fuzz, type Flaw, type Zlib } from './testing/tightFuzz';

type Stream = Record<string, unknown> & { avail_out: number; next_out: number; avail_in: number; output: Uint8Array };
type Fn = (strm: Stream, flush: number) => number;
let pako: Zlib;

beforeAll(async () => {
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
