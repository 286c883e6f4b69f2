/**
 * Tight's zlib streams inflated by fflate's inflate (fflate 0.8.2's `inflt`, MIT, © 2023 Arjun
 * Barrett: its tables and block loop, adapted here), bounded for a hostile cage. A drop-in for
 * noVNC's Inflator (pako's zlib port): setInput, inflate(expected), reset.
 *
 * Why not fflate as published: its streaming inflate grows its output to whatever the data holds
 * (a rectangle of 4 MiB of zlib data inflates to ~4 GiB), and its one-shot inflate, given an output
 * array, goes on decoding past its end (a bomb kept the renderer busy for seconds, writing nowhere);
 * its streaming class was also 2.5× slower than pako on a scroll's rectangles (bench/RESULTS.md).
 *
 * What a Tight server sends, and all this accepts: each rectangle's data is whole deflate blocks
 * ending with a sync flush (its empty stored block), the first after a reset after a zlib header;
 * its output is exactly the rectangle's bytes. Anything else ends the rectangle with an error
 * (noVNC then ends the connection, showing why): a rectangle inflating to more or to fewer bytes, a
 * block cut at its end, a final block (a Tight stream never ends), a corrupt block (whatever zlib
 * refuses too: incomplete or oversubscribed codes, more than 286/30 codes, the fixed code's symbols
 * 286/287 and distances 30/31; fuzzed against zlib: tightInflateFuzz.test.ts). The work is
 * bounded by the rectangle: nothing is written beyond its bytes (the decoding stops there), and the
 * Huffman tables a rectangle's blocks may have built are bounded by its size.
 *
 * Memory: one array of 32 KiB of history plus the largest rectangle inflated so far, kept (as
 * noVNC's inflator keeps its output); rectangleGuard.ts bounds rectangles by the framebuffer.
 */

const WINDOW = 32768;
/** Table entries an honest block needs per byte it inflates is far below this (see `tableBudget`). */
const TABLE_ENTRIES_PER_BYTE = 32;
/** Tables every rectangle may build whatever its size: four blocks of the largest. */
const TABLE_ENTRIES_FREE = 4 * 3 * 32768;

// fflate's tables: extra bits of lengths and distances, the code lengths' order, base values.
const fleb = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0, 0]);
const fdeb = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 0, 0]);
const clim = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

function bases(eb: Uint8Array, start: number): Uint16Array {
  const b = new Uint16Array(31);
  for (let i = 0; i < 31; ++i) b[i] = start += 1 << eb[i - 1]!;
  return b;
}
const fl = bases(fleb, 2);
fl[28] = 258;
const fd = bases(fdeb, 0);

const rev = new Uint16Array(32768);
for (let i = 0; i < 32768; ++i) {
  let x = ((i & 0xaaaa) >> 1) | ((i & 0x5555) << 1);
  x = ((x & 0xcccc) >> 2) | ((x & 0x3333) << 2);
  x = ((x & 0xf0f0) >> 4) | ((x & 0x0f0f) << 4);
  rev[i] = (((x & 0xff00) >> 8) | ((x & 0x00ff) << 8)) >> 1;
}

/**
 * fflate's hMap (reversed): code lengths to a table of (symbol << 4 | bits), 2^mb entries. A code
 * zlib refuses is refused: oversubscribed, or incomplete — but for literals/lengths and distances
 * (`lone`) one code of one bit, which zlib allows (its other entry is invalid, as zlib's).
 */
function hMap(cd: Uint8Array, mb: number, lone: boolean): Uint16Array {
  const s = cd.length;
  const l = new Uint16Array(mb);
  for (let i = 0; i < s; ++i) if (cd[i]) l[cd[i]! - 1]!++;
  let left = 1;
  for (let i = 0; i < mb; ++i) {
    left = (left << 1) - l[i]!;
    if (left < 0) throw new TightInflateError('an invalid Huffman code (oversubscribed)');
  }
  if (left > 0 && mb > 0 && !(lone && mb === 1)) throw new TightInflateError('an invalid Huffman code (incomplete)');
  const le = new Uint16Array(mb);
  for (let i = 1; i < mb; ++i) le[i] = (le[i - 1]! + l[i - 1]!) << 1;
  const co = new Uint16Array(1 << mb);
  const rvb = 15 - mb;
  for (let i = 0; i < s; ++i) {
    const len = cd[i]!;
    if (!len) continue;
    const sv = (i << 4) | len;
    const free = mb - len;
    let v = le[len - 1]!++ << free;
    // An oversubscribed code (a hostile one) would run past the table: refused, not wrapped.
    const m = v | ((1 << free) - 1);
    if (m >= 1 << mb) throw new TightInflateError('an invalid Huffman code (oversubscribed)');
    for (; v <= m; ++v) co[rev[v]! >> rvb] = sv;
  }
  return co;
}

const fixedLengths = new Uint8Array(288);
fixedLengths.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
const flrm = hMap(fixedLengths, 9, false);
const fdrm = hMap(new Uint8Array(32).fill(5), 5, false);
// The fixed code's literal/length symbols 286 and 287 and distances 30 and 31 mean nothing: invalid.
for (let i = 0; i < flrm.length; ++i) if (flrm[i]! >> 4 > 285) flrm[i] = 0;
for (let i = 0; i < fdrm.length; ++i) if (fdrm[i]! >> 4 > 29) fdrm[i] = 0;

const max = (a: Uint8Array): number => {
  let m = a[0]!;
  for (let i = 1; i < a.length; ++i) if (a[i]! > m) m = a[i]!;
  return m;
};
const bits = (d: Uint8Array, p: number, m: number): number => {
  const o = (p / 8) | 0;
  return ((d[o]! | (d[o + 1]! << 8)) >> (p & 7)) & m;
};
const bits16 = (d: Uint8Array, p: number): number => {
  const o = (p / 8) | 0;
  return (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16)) >> (p & 7);
};

/** A Tight zlib stream's data refused: noVNC ends the connection with this message. */
export class TightInflateError extends Error {
  constructor(what: string) {
    super(`Tight zlib data refused: ${what}`);
  }
}

/**
 * Inflates `dat` (whole deflate blocks) into `buf` from `bt` to exactly `cap`, the bytes before `bt`
 * being the stream's history. Returns where the output ended (always `cap`).
 */
function inflateBlocks(dat: Uint8Array, buf: Uint8Array, bt: number, cap: number, tableBudget: number): number {
  const tbts = dat.length * 8;
  let pos = 0;
  let tables = 0;
  while (pos < tbts) {
    if (pos + 3 > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
    if (bits(dat, pos, 1)) throw new TightInflateError('a final block (a Tight stream never ends)');
    const type = bits(dat, pos + 1, 3);
    pos += 3;
    let lm: Uint16Array;
    let dm: Uint16Array;
    let lbt: number;
    let dbt: number;
    if (type === 0) {
      const s = ((pos + 7) / 8) | 0;
      if (s + 4 > dat.length) throw new TightInflateError('a stored block cut at the end of the rectangle');
      const l = dat[s]! | (dat[s + 1]! << 8);
      if ((dat[s + 2]! | (dat[s + 3]! << 8)) !== (~l & 0xffff)) throw new TightInflateError('a stored block of an invalid length');
      const t = s + 4 + l;
      if (t > dat.length) throw new TightInflateError('a stored block cut at the end of the rectangle');
      if (bt + l > cap) throw new TightInflateError('more bytes than the rectangle holds');
      buf.set(dat.subarray(s + 4, t), bt);
      bt += l;
      pos = t * 8;
      continue;
    } else if (type === 1) {
      lm = flrm;
      dm = fdrm;
      lbt = 9;
      dbt = 5;
    } else if (type === 2) {
      if (pos + 14 > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
      const hLit = bits(dat, pos, 31) + 257;
      const hDist = bits(dat, pos + 5, 31) + 1;
      const hcLen = bits(dat, pos + 10, 15) + 4;
      if (hLit > 286 || hDist > 30) throw new TightInflateError('too many length or distance codes');
      const tl = hLit + hDist;
      pos += 14;
      const ldt = new Uint8Array(tl);
      const clt = new Uint8Array(19);
      for (let i = 0; i < hcLen; ++i) clt[clim[i]!] = bits(dat, pos + i * 3, 7);
      pos += hcLen * 3;
      if (pos > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
      const clb = max(clt);
      const clbmsk = (1 << clb) - 1;
      const clm = hMap(clt, clb, false);
      for (let i = 0; i < tl; ) {
        const r = clm[bits(dat, pos, clbmsk)]!;
        if (!r) throw new TightInflateError(pos + clb > tbts ? 'a block cut at the end of the rectangle' : 'an invalid code length code');
        pos += r & 15;
        const s = r >> 4;
        if (s < 16) ldt[i++] = s;
        else {
          let c = 0;
          let n = 0;
          if (s === 16) {
            if (i === 0) throw new TightInflateError('a repeated code length with none before');
            n = 3 + bits(dat, pos, 3);
            pos += 2;
            c = ldt[i - 1]!;
          } else if (s === 17) {
            n = 3 + bits(dat, pos, 7);
            pos += 3;
          } else {
            n = 11 + bits(dat, pos, 127);
            pos += 7;
          }
          if (i + n > tl) throw new TightInflateError('code lengths beyond their count');
          while (n--) ldt[i++] = c;
        }
        if (pos > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
      }
      const lt = ldt.subarray(0, hLit);
      const dt = ldt.subarray(hLit);
      if (!lt[256]) throw new TightInflateError('a block without an end');
      lbt = max(lt);
      dbt = max(dt);
      tables += (1 << clb) + (1 << lbt) + (1 << dbt);
      if (tables > tableBudget) throw new TightInflateError('more Huffman tables than the rectangle needs');
      lm = hMap(lt, lbt, true);
      dm = hMap(dt, dbt, true);
    } else throw new TightInflateError('an invalid block type');
    if (pos > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
    const lms = (1 << lbt) - 1;
    const dms = (1 << dbt) - 1;
    for (;;) {
      const c = lm[bits16(dat, pos) & lms]!;
      const sym = c >> 4;
      pos += c & 15;
      if (pos > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
      if (!c) throw new TightInflateError('an invalid literal or length');
      if (sym < 256) {
        if (bt === cap) throw new TightInflateError('more bytes than the rectangle holds');
        buf[bt++] = sym;
      } else if (sym === 256) break;
      else {
        let add = sym - 254;
        if (sym > 264) {
          const i = sym - 257;
          const b = fleb[i]!;
          add = bits(dat, pos, (1 << b) - 1) + fl[i]!;
          pos += b;
        }
        const d = dm[bits16(dat, pos) & dms]!;
        const dsym = d >> 4;
        if (!d) throw new TightInflateError('an invalid distance');
        pos += d & 15;
        let dist = fd[dsym]!;
        if (dsym > 3) {
          const b = fdeb[dsym]!;
          dist += bits16(dat, pos) & ((1 << b) - 1);
          pos += b;
        }
        if (pos > tbts) throw new TightInflateError('a block cut at the end of the rectangle');
        if (dist > bt) throw new TightInflateError('a distance beyond the stream');
        const end = bt + add;
        if (end > cap) throw new TightInflateError('more bytes than the rectangle holds');
        for (; bt < end; ++bt) buf[bt] = buf[bt - dist]!;
      }
    }
  }
  return bt;
}

export class TightInflator {
  /** The stream's history, then the last rectangle's bytes, ending at `end`. */
  private buf = new Uint8Array(WINDOW + 102_400);
  private end = 0;
  private header = true;
  private input: Uint8Array | null = null;

  setInput(data: Uint8Array | null): void {
    this.input = data;
  }

  /** The next `expected` bytes of the stream, valid until this inflator's next inflate or reset. */
  inflate(expected: number): Uint8Array {
    let data = this.input ?? new Uint8Array(0);
    if (this.header) {
      if (data.length < 2) throw new TightInflateError('no zlib header');
      const [cmf, flg] = [data[0]!, data[1]!];
      if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) throw new TightInflateError('an invalid zlib header');
      data = data.subarray(2);
      this.header = false;
    }
    // The last 32 KiB of what was inflated, moved to the front (what the stream's back references reach).
    const keep = Math.min(this.end, WINDOW);
    if (this.buf.length < keep + expected) {
      const grown = new Uint8Array(WINDOW + expected);
      grown.set(this.buf.subarray(this.end - keep, this.end));
      this.buf = grown;
    } else if (this.end !== keep) this.buf.copyWithin(0, this.end - keep, this.end);
    this.end = keep;
    const cap = keep + expected;
    let end: number;
    try {
      end = inflateBlocks(data, this.buf, keep, cap, TABLE_ENTRIES_PER_BYTE * expected + TABLE_ENTRIES_FREE);
      if (end !== cap) throw new TightInflateError(`${end - keep} bytes where the rectangle holds ${expected}`);
    } catch (e) {
      this.reset(); // the stream is lost: what follows on it is refused too (it has no header)
      throw e;
    }
    this.end = end;
    return this.buf.subarray(keep, end);
  }

  reset(): void {
    this.end = 0;
    this.header = true;
  }
}
