/**
 * Differential fuzzing of tightInflator.ts against a zlib (test helper; no Node here: the zlib is
 * given — pako's port in the renderer's tests, Node's own in bench/tightInflateFuzz.ts).
 *
 * A case is one to four Tight zlib streams used in turn, each on one of four inflators kept from
 * case to case and reset at the stream's start (Tight's reset bits). A stream is rectangles of data:
 * made by zlib's deflate (every level, strategy, window and memory size, a sync or full flush after
 * each rectangle, as Tight servers send them) or by hand here (fixed, dynamic and stored blocks of
 * chosen literals and copies: 258 bytes long, exactly 32 KiB back, across rectangles, empty blocks;
 * and codes zlib refuses: symbols 286/287, distances 30/31, incomplete or oversubscribed codes,
 * too many symbols, distances before the stream), then often mutated (bits flipped, bytes set, cut,
 * extended, spliced from another rectangle, block headers edited, rectangles dropped or swapped, the
 * rectangle's size moved).
 *
 * The property, for every rectangle: the inflater either refuses it with a TightInflateError or
 * returns exactly the bytes zlib inflates from the stream so far, zlib having used all of it without
 * error; it writes nothing past the rectangle's bytes; and a stream as zlib's deflate made it (no
 * mutation, its real size) is accepted. Refusals of data zlib would inflate to the right size are
 * counted by message (the inflater is stricter by design: whole blocks only, no final block, a
 * budget of Huffman tables).
 */
import { TightInflateError, TightInflator } from '../tightInflator';

/** Deflates a rectangle's bytes, then flushes (a sync flush; a full one when `full`). */
export type Deflate = (bytes: Uint8Array, full: boolean) => Uint8Array | Promise<Uint8Array>;
/** What zlib inflates of a stream's data so far: all it gives, or why it refuses it. */
export type Reference = { out: Uint8Array; error?: undefined; more?: boolean } | { error: string };

export interface Zlib {
  name: string;
  deflater(level: number, strategy: number, windowBits: number, memLevel: number): Deflate;
  /** Inflates `data` (no more than `limit` bytes: `more` when it holds more). */
  inflate(data: Uint8Array, limit: number): Reference;
}

export interface Finding {
  seed: number;
  what: string;
}

export interface Tally {
  cases: number;
  rectangles: number;
  accepted: number;
  refused: number;
  /** Refused (by message) where zlib inflated exactly the rectangle's size. */
  stricter: Record<string, number>;
  /** The first case of each. */
  stricterSeeds: Record<string, number>;
  /** Refused (by message), all. */
  refusals: Record<string, number>;
  findings: Finding[];
  slowestMs: number;
  /** The case of the slowest rectangle. */
  slowestSeed: number;
}

export function newTally(): Tally {
  return { cases: 0, rectangles: 0, accepted: 0, refused: 0, stricter: {}, stricterSeeds: {}, refusals: {}, findings: [], slowestMs: 0, slowestSeed: 0 };
}

/** mulberry32: deterministic, seeded. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, chance: (p: number) => next() < p, pick: <T>(a: readonly T[]): T => a[int(a.length)]! };
}
type Rng = ReturnType<typeof rng>;

// ---------------------------------------------------------------------------------------------
// Rectangles' bytes

function flip(a: Uint8Array, i: number, mask: number) {
  a[i] = a[i]! ^ mask;
}

function content(r: Rng, size: number, history: Uint8Array): Uint8Array {
  const out = new Uint8Array(size);
  const kind = r.int(7);
  if (kind === 0) for (let i = 0; i < size; i++) out[i] = r.int(256);
  else if (kind === 1) out.fill(r.int(256));
  else if (kind === 2) {
    const alphabet = 1 + r.int(6);
    for (let i = 0; i < size; i++) out[i] = 97 + r.int(alphabet);
  } else if (kind === 3 && history.length > 0) {
    // What the stream held before, from a chosen distance back (copies across rectangles).
    const back = Math.min(history.length, r.pick([1, 3, 258, 32768, 32767, 1 + r.int(32768)]));
    for (let i = 0; i < size; i++) out[i] = i < back ? history[history.length - back + i]! : out[i - back]!;
    if (r.chance(0.5)) flip(out, r.int(size), 1 + r.int(255));
  } else {
    // Screen-like: runs of a few colours, noise, rows repeated.
    for (let i = 0; i < size; ) {
      const k = r.int(8);
      const run = 1 + r.int(200);
      if (k === 0) for (let j = 0; j < run && i < size; j++) out[i++] = r.int(256);
      else if (k === 1 && i > 300) {
        const from = i - 3 * (1 + r.int(100));
        for (let j = 0; j < run * 3 && i < size; j++) out[i++] = out[from + j]!;
      } else {
        const c = [r.int(256), r.int(256), r.int(256)];
        for (let j = 0; j < run * 3 && i < size; j++, i++) out[i] = c[j % 3]!;
      }
    }
  }
  return out;
}

function size(r: Rng): number {
  const k = r.int(20);
  if (k < 12) return 12 + r.int(600);
  if (k < 18) return 12 + r.int(12_000);
  if (k < 19) return 30_000 + r.int(12_000);
  return 100_000 + r.int(60_000); // beyond what the inflator holds at first (it grows)
}

// ---------------------------------------------------------------------------------------------
// Deflate by hand: fixed, dynamic and stored blocks of chosen tokens.

class Bits {
  buf = new Uint8Array(1024);
  bit = 0;
  private room(n: number) {
    const need = ((this.bit + n + 7) >> 3) + 8;
    if (need > this.buf.length) {
      const b = new Uint8Array(Math.max(need, this.buf.length * 2));
      b.set(this.buf);
      this.buf = b;
    }
  }
  /** A value, least significant bit first (headers, extra bits). */
  put(value: number, n: number) {
    this.room(n);
    for (let i = 0; i < n; i++, this.bit++) if ((value >> i) & 1) this.buf[this.bit >> 3]! |= 1 << (this.bit & 7);
  }
  /** A Huffman code, most significant bit first. */
  code(code: number, n: number) {
    this.room(n);
    for (let i = n - 1; i >= 0; i--, this.bit++) if ((code >> i) & 1) this.buf[this.bit >> 3]! |= 1 << (this.bit & 7);
  }
  align() {
    this.bit = (this.bit + 7) & ~7;
  }
  bytes(b: Uint8Array) {
    this.room(b.length * 8);
    this.buf.set(b, this.bit >> 3);
    this.bit += b.length * 8;
  }
  done(): Uint8Array {
    return this.buf.slice(0, (this.bit + 7) >> 3);
  }
}

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** A literal (0–255), a copy, or a raw symbol pair zlib refuses (sym 286/287, distance code 30/31). */
type Token = { lit: number } | { len: number; dist: number } | { rawSym: number; rawDist?: number };

function lengthSym(len: number): [number, number, number] {
  let i = LBASE.length - 1;
  if (len !== 258) while (LBASE[i]! > len || i === 28) i--;
  return [257 + i, len - LBASE[i]!, LEXT[i]!];
}
function distSym(dist: number): [number, number, number] {
  let i = DBASE.length - 1;
  while (DBASE[i]! > dist) i--;
  return [i, dist - DBASE[i]!, DEXT[i]!];
}

/** Canonical codes of code lengths (RFC 1951 3.2.2); codes of oversubscribed sets are wrong but written. */
function canonical(lengths: number[]): number[] {
  const count = new Array(16).fill(0);
  for (const l of lengths) if (l) count[l]++;
  const next = new Array(16).fill(0);
  for (let b = 1, code = 0; b < 16; b++) next[b] = code = (code + count[b - 1]) << 1;
  return lengths.map((l) => (l ? next[l]++ & ((1 << l) - 1) : 0));
}

/** Random code lengths for `used` symbols: a complete code (a random full binary tree, depth ≤ 15). */
function completeLengths(r: Rng, n: number): number[] {
  if (n === 1) return [1];
  const leaves = [0];
  while (leaves.length < n) {
    let i = r.int(leaves.length);
    while (leaves[i]! >= 15) i = (i + 1) % leaves.length;
    const d = leaves[i]! + 1;
    leaves.splice(i, 1, d, d);
  }
  for (let i = leaves.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [leaves[i], leaves[j]] = [leaves[j]!, leaves[i]!];
  }
  return leaves;
}

export type Flaw = 'none' | 'sym286' | 'dist30' | 'incompleteLit' | 'incompleteDist' | 'oversubscribed' | 'incompleteCl' | 'hlit' | 'hdist' | 'tooFar';

/** Fixed-Huffman block of `tokens`. */
function fixedBlock(w: Bits, tokens: Token[]) {
  w.put(0, 1);
  w.put(1, 2);
  const lit = (s: number) => {
    if (s < 144) w.code(0x30 + s, 8);
    else if (s < 256) w.code(0x190 + s - 144, 9);
    else if (s < 280) w.code(s - 256, 7);
    else w.code(0xc0 + s - 280, 8);
  };
  for (const t of tokens) {
    if ('lit' in t) lit(t.lit);
    else if ('len' in t) {
      const [s, e, eb] = lengthSym(t.len);
      lit(s);
      w.put(e, eb);
      const [d, de, deb] = distSym(t.dist);
      w.code(d, 5);
      w.put(de, deb);
    } else {
      lit(t.rawSym);
      if (t.rawSym > 256) {
        w.put(0, LEXT[t.rawSym - 257] ?? 0);
        const d = t.rawDist ?? 0;
        w.code(d, 5);
        w.put(0, DEXT[d] ?? 0);
      }
    }
  }
  lit(256);
}

/** Dynamic-Huffman block of `tokens`, with a random code for the symbols they use (maybe flawed). */
function dynamicBlock(r: Rng, w: Bits, tokens: Token[], flaw: Flaw): boolean {
  const litUsed = new Set<number>([256]);
  const distUsed = new Set<number>();
  for (const t of tokens) {
    if ('lit' in t) litUsed.add(t.lit);
    else if ('len' in t) {
      litUsed.add(lengthSym(t.len)[0]);
      distUsed.add(distSym(t.dist)[0]);
    }
  }
  if (flaw === 'hlit') litUsed.add(r.pick([286, 287]));
  if (flaw === 'hdist') distUsed.add(r.pick([30, 31]));
  const mk = (used: Set<number>, incomplete: boolean): number[] => {
    const syms = [...used];
    // Incomplete: a leaf left unused (one symbol alone gets 2 bits: zlib allows one code of 1 bit).
    const lens = incomplete && syms.length === 1 ? [2] : completeLengths(r, syms.length + (incomplete ? 1 : 0));
    const out: number[] = [];
    syms.forEach((s, i) => (out[s] = lens[i]!));
    return out;
  };
  let applied = flaw !== 'incompleteDist' || distUsed.size > 0;
  const litLens = mk(litUsed, flaw === 'incompleteLit');
  const distLens = distUsed.size ? mk(distUsed, flaw === 'incompleteDist') : r.chance(0.5) ? [] : [1];
  if (flaw === 'oversubscribed') {
    const arr = r.chance(0.5) || distLens.length === 0 ? litLens : distLens;
    const i = arr.findIndex((l) => l > 1);
    if (i >= 0) arr[i]!--;
    else arr[arr.findIndex((l) => l > 0) === 0 ? 1 : 0] = 1;
  }
  const hlit = Math.max(257, litLens.length);
  const hdist = Math.max(1, distLens.length);
  const all: number[] = [];
  for (let i = 0; i < hlit; i++) all.push(litLens[i] ?? 0);
  for (let i = 0; i < hdist; i++) all.push(distLens[i] ?? 0);
  // The code lengths' code: symbols 0–15 in 4 bits each (complete), or one of them missing (incomplete).
  const cl = new Array(19).fill(0);
  for (let s = 0; s < 16; s++) cl[s] = 4;
  if (flaw === 'incompleteCl') {
    const usedCl = new Set(all);
    const spare = [...Array(16).keys()].filter((s) => !usedCl.has(s));
    if (spare.length) cl[r.pick(spare)] = 0;
    else applied = false;
  }
  w.put(0, 1);
  w.put(2, 2);
  w.put(hlit - 257, 5);
  w.put(hdist - 1, 5);
  w.put(15, 4);
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  for (const s of order) w.put(cl[s], 3);
  const clCodes = canonical(cl);
  for (const l of all) w.code(clCodes[l]!, cl[l]);
  const lc = canonical(all.slice(0, hlit));
  const dc = canonical(all.slice(hlit));
  const lit = (s: number) => w.code(lc[s]!, all[s]!);
  for (const t of tokens) {
    if ('lit' in t) lit(t.lit);
    else if ('len' in t) {
      const [s, e, eb] = lengthSym(t.len);
      lit(s);
      w.put(e, eb);
      const [d, de, deb] = distSym(t.dist);
      w.code(dc[d]!, all[hlit + d]!);
      w.put(de, deb);
    }
  }
  if (flaw === 'hlit') {
    const s = [...litUsed].find((x) => x > 285)!;
    lit(s);
    if (distUsed.size) {
      const d = [...distUsed][0]!;
      w.code(dc[d]!, all[hlit + d]!);
      w.put(0, d > 3 ? DEXT[d] ?? 0 : 0);
    }
  }
  if (flaw === 'hdist') {
    const [s] = lengthSym(3);
    if (all[s]) {
      lit(s);
      const d = [...distUsed].find((x) => x > 29)!;
      w.code(dc[d]!, all[hlit + d]!);
    }
  }
  lit(256);
  return applied;
}

function storedBlock(w: Bits, bytes: Uint8Array) {
  w.put(0, 1);
  w.put(0, 2);
  w.align();
  w.put(bytes.length, 16);
  w.put(~bytes.length & 0xffff, 16);
  w.bytes(bytes);
}

/**
 * A rectangle made by hand on a stream whose output so far is `history`: tokens (literals; copies of
 * 3–258 bytes from 1 to 32768 back, often the longest and the farthest the history allows), in
 * blocks of each kind, then a sync flush. Returns its data and its bytes.
 */
function handRectangle(r: Rng, history: Uint8Array, want: number, flaw: Flaw, only?: 'fixed' | 'dynamic'): { data: Uint8Array; bytes: Uint8Array } {
  const out = new Uint8Array(history.length + want + 300);
  out.set(history);
  let at = history.length;
  const w = new Bits();
  const end = history.length + want;
  let flawDone = flaw === 'none' || flaw === 'incompleteCl' || flaw === 'oversubscribed' || flaw === 'incompleteLit' || flaw === 'incompleteDist' || flaw === 'hlit' || flaw === 'hdist';
  while (at < end || r.chance(0.1)) {
    const kind = only === 'fixed' ? 2 : only === 'dynamic' ? 5 : r.int(10);
    if (kind < 2) {
      // Stored: raw bytes (sometimes none: an empty stored block mid-rectangle).
      const n = r.chance(0.2) ? 0 : Math.min(end - at, 1 + r.int(r.chance(0.1) ? 70000 : 3000), 65535);
      const bytes = new Uint8Array(Math.max(0, n));
      for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
      storedBlock(w, bytes);
      out.set(bytes, at);
      at += bytes.length;
      continue;
    }
    const tokens: Token[] = [];
    const count = r.chance(0.1) ? 0 : 1 + r.int(400);
    for (let i = 0; i < count && at < end; i++) {
      const avail = at; // bytes of the stream so far (history included)
      const left = end - at;
      if (avail > 0 && left >= 3 && r.chance(0.6)) {
        const len = Math.min(left, r.chance(0.4) ? 258 : 3 + r.int(256));
        const far = Math.min(avail, 32768);
        const dist = Math.min(far, r.pick([1, 2, 3, 4, far, far, 258, 1 + r.int(far), 32768, 24577 + r.int(8192)]));
        tokens.push({ len, dist });
        for (let j = 0; j < len; j++, at++) out[at] = out[at - dist]!;
      } else {
        const b = r.int(256);
        tokens.push({ lit: b });
        out[at++] = b;
      }
    }
    if (!flawDone && (flaw === 'sym286' || flaw === 'dist30' || flaw === 'tooFar')) {
      if (flaw === 'sym286') tokens.push({ rawSym: r.pick([286, 287]), rawDist: r.int(30) });
      else if (flaw === 'dist30') tokens.push({ rawSym: 257 + r.int(29), rawDist: r.pick([30, 31]) });
      else tokens.push({ len: 3 + r.int(10), dist: Math.min(32768, at + 1 + r.int(4)) });
      flawDone = true;
      fixedBlock(w, tokens);
      continue;
    }
    if (kind < 5) fixedBlock(w, tokens);
    else if (dynamicBlock(r, w, tokens, flaw)) flaw = 'none';
  }
  // Empty blocks before the flush, sometimes.
  if (r.chance(0.1)) fixedBlock(w, []);
  storedBlock(w, new Uint8Array(0));
  if (r.chance(0.05)) storedBlock(w, new Uint8Array(0));
  return { data: w.done(), bytes: out.slice(history.length, at) };
}

/**
 * A stream's first rectangle made by hand (zlib header included) with `flaw`, in blocks of one kind:
 * `bytes` are what it means (for flaws zlib refuses, what an inflater without the check would give).
 */
export function flawedRectangle(seed: number, size: number, flaw: Flaw, only: 'fixed' | 'dynamic'): { data: Uint8Array; bytes: Uint8Array } {
  const { data, bytes } = handRectangle(rng(seed), new Uint8Array(0), size, flaw, only);
  return { data: concat([new Uint8Array([0x78, 0x01]), data]), bytes };
}

// ---------------------------------------------------------------------------------------------
// Mutations

function mutate(r: Rng, data: Uint8Array, other: Uint8Array, header: boolean): Uint8Array {
  const rounds = r.chance(0.7) ? 1 : 1 + r.int(4);
  let d = data;
  for (let k = 0; k < rounds; k++) {
    const m = r.int(13);
    const at = d.length ? r.int(d.length) : 0;
    if (m === 0 || m === 1) {
      d = d.slice();
      const flips = r.chance(0.7) ? 1 : 1 + r.int(8);
      for (let i = 0; i < flips && d.length; i++) flip(d, r.int(d.length), 1 << r.int(8));
    } else if (m === 2 && d.length) {
      d = d.slice();
      d[at] = r.pick([0, 0xff, r.int(256)]);
    } else if (m === 3) d = d.slice(0, r.chance(0.5) ? at : Math.max(0, d.length - 1 - r.int(6)));
    else if (m === 4) {
      const extra = r.pick([new Uint8Array([0, 0, 0, 0xff, 0xff]), new Uint8Array([2, 0]), other.subarray(0, r.int(other.length + 1)), Uint8Array.from({ length: 1 + r.int(10) }, () => r.int(256))]);
      d = concat([d, extra]);
    } else if (m === 5) {
      const from = r.int(other.length + 1);
      d = concat([d.subarray(0, at), other.subarray(from, from + r.int(64)), d.subarray(at + r.int(64))]);
    } else if (m === 6) d = concat([d.subarray(0, at), d.subarray(Math.min(d.length, at + 1 + r.int(16)))]);
    else if (m === 7) d = concat([d.subarray(0, at), d.subarray(at, at + 1 + r.int(32)), d.subarray(at)]);
    else if (m === 8 || m === 9) {
      // The first block's header: BFINAL, BTYPE, or a dynamic block's counts.
      d = d.slice();
      const b = header ? 16 : 0;
      const set = (bit: number, n: number, v: number) => {
        for (let i = 0; i < n; i++) {
          const p = bit + i;
          if ((p >> 3) >= d.length) return;
          d[p >> 3] = (v >> i) & 1 ? d[p >> 3]! | (1 << (p & 7)) : d[p >> 3]! & ~(1 << (p & 7));
        }
      };
      const field = r.int(5);
      if (field === 0) set(b, 1, 1);
      else if (field === 1) set(b + 1, 2, r.int(4));
      else if (field === 2) set(b + 3, 5, r.pick([29, 30, 31, r.int(32)]));
      else if (field === 3) set(b + 8, 5, r.pick([29, 30, 31, r.int(32)]));
      else set(b + 13, 4, r.int(16));
    } else if (m === 10 && header && d.length >= 2) {
      d = d.slice();
      // Other headers: a window of 256 bytes to 32 KiB, each level's flag, a dictionary asked for.
      const cmf = r.chance(0.8) ? 0x08 | (r.int(9) << 4) : r.int(256);
      let flg = (r.int(4) << 6) | (r.chance(0.1) ? 0x20 : 0);
      flg |= 31 - (((cmf << 8) | flg) % 31 || 31);
      [d[0], d[1]] = r.chance(0.9) ? [cmf, flg] : [r.int(256), r.int(256)];
    } else if (m === 11) {
      // A stored block's length fields, wherever a sync flush left one.
      const i = findFlush(d);
      if (i >= 0) {
        d = d.slice();
        const n = r.pick([1, 2, 0xffff, r.int(65536)]);
        d.set([n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff], i);
        if (r.chance(0.3)) flip(d, i + 2, 1);
      }
    } else {
      d = d.slice();
      if (d.length) flip(d, d.length - 1 - r.int(Math.min(d.length, 8)), 1 << r.int(8));
    }
  }
  return d;
}

function findFlush(d: Uint8Array): number {
  for (let i = d.length - 4; i >= 0; i--) if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 0xff && d[i + 3] === 0xff) return i;
  return -1;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A case

interface Stream {
  slot: number;
  chunks: Uint8Array[];
  sizes: number[];
  /** Where the stream stops being as made (mutated, hand-flawed, reordered). */
  firstFlawed: number;
}

const STRATEGIES = [0, 1, 2, 3, 4]; // default, filtered, Huffman only, RLE, fixed

async function makeStream(r: Rng, zlib: Zlib, slot: number): Promise<Stream> {
  const n = 1 + r.int(r.chance(0.2) ? 8 : 4);
  const chunks: Uint8Array[] = [];
  const sizes: number[] = [];
  let firstFlawed = Infinity;
  let history = new Uint8Array(0);
  const byHand = r.chance(0.35);
  const deflate = byHand ? null : zlib.deflater(r.int(10), r.pick(STRATEGIES), r.chance(0.8) ? 15 : 9 + r.int(7), r.chance(0.8) ? 8 : 1 + r.int(9));
  for (let i = 0; i < n; i++) {
    const want = size(r);
    let data: Uint8Array;
    let bytes: Uint8Array;
    if (deflate) {
      bytes = content(r, want, history);
      data = await deflate(bytes, r.chance(0.1));
    } else {
      const flaw: Flaw = r.chance(0.7) ? 'none' : r.pick(['sym286', 'dist30', 'incompleteLit', 'incompleteDist', 'oversubscribed', 'incompleteCl', 'hlit', 'hdist', 'tooFar'] as const);
      if (flaw !== 'none') firstFlawed = Math.min(firstFlawed, i);
      ({ data, bytes } = handRectangle(r, history, want, flaw));
      if (i === 0) data = concat([new Uint8Array([0x78, 0x01]), data]);
    }
    chunks.push(data);
    sizes.push(bytes.length);
    history = concat([history, bytes]).slice(-32768);
  }
  // Mutations, most cases.
  if (r.chance(0.75)) {
    const k = r.chance(0.5) ? n - 1 : r.int(n);
    const what = r.int(10);
    if (what === 0 && n > 1) {
      const j = r.int(n);
      [chunks[k], chunks[j]] = [chunks[j]!, chunks[k]!];
      if (j !== k) firstFlawed = Math.min(firstFlawed, k, j);
    } else if (what === 1 && n > 1 && k > 0) {
      chunks.splice(k, 1);
      sizes.splice(k, 1);
      firstFlawed = Math.min(firstFlawed, k);
    } else {
      chunks[k] = mutate(r, chunks[k]!, chunks[r.int(n)]!, k === 0);
      firstFlawed = Math.min(firstFlawed, k);
    }
  }
  return { slot, chunks, sizes, firstFlawed };
}

const pool = [0, 1, 2, 3].map(() => new TightInflator());
type Internals = { buf: Uint8Array; end: number };

/** One case: its streams inflated in turn by the inflaters and by zlib, compared rectangle by rectangle. */
export async function runCase(seed: number, zlib: Zlib, tally: Tally): Promise<void> {
  const r = rng(seed);
  const streams: Stream[] = [];
  const count = r.chance(0.6) ? 1 : 2 + r.int(3);
  const slots = [0, 1, 2, 3].sort(() => r.next() - 0.5).slice(0, count);
  for (const slot of slots) streams.push(await makeStream(r, zlib, slot));
  tally.cases++;
  const state = streams.map(() => ({ next: 0, fed: [] as Uint8Array[], done: 0, dead: false }));
  for (const s of streams) pool[s.slot]!.reset();
  const find = (what: string) => tally.findings.push({ seed, what: `${zlib.name}: ${what}` });
  for (;;) {
    const live = streams.map((_, i) => i).filter((i) => !state[i]!.dead && state[i]!.next < streams[i]!.chunks.length);
    if (!live.length) break;
    const i = r.pick(live);
    const s = streams[i]!;
    const st = state[i]!;
    const k = st.next++;
    const data = s.chunks[k]!;
    const fed = [...st.fed, data];
    const whole = concat(fed);
    const honest = k < s.firstFlawed;
    let expected = s.sizes[k] ?? 100;
    const limit = st.done + Math.max(expected, 1) * 2 + 70_000;
    const ref = zlib.inflate(whole, limit);
    const refLength = ref.error === undefined ? ref.out.length - st.done : -1;
    if (!honest) {
      const c = r.next();
      if (c < 0.6 && ref.error === undefined && !ref.more) expected = refLength;
      else if (c > 0.9) expected = Math.max(0, expected + r.pick([-1, 1, -3, 3, 258, -258]));
    }
    const inflator = pool[s.slot]!;
    const inside = inflator as unknown as Internals;
    const keep = Math.min(inside.end, 32768);
    const cap = keep + expected;
    // What lies past the rectangle's bytes (the inflator moves its history below them, never past).
    const before = inside.buf;
    const past = before.slice(cap, cap + 1024);
    inflator.setInput(data);
    tally.rectangles++;
    let got: Uint8Array | null = null;
    let refused: unknown = null;
    const started = performance.now();
    try {
      got = inflator.inflate(expected);
    } catch (e) {
      refused = e;
    }
    const ms = performance.now() - started;
    if (ms > tally.slowestMs) [tally.slowestMs, tally.slowestSeed] = [ms, seed];
    inflator.setInput(null);
    const after = inside.buf; // a new array if it grew: zeros past the rectangle
    for (let p = 0; p < Math.min(1024, after.length - cap); p++)
      if (after[cap + p] !== (after === before ? past[p] : 0)) {
        find(`wrote past the rectangle (byte ${p} after its ${expected}), rectangle ${k}`);
        break;
      }
    const refExact = ref.error === undefined && !ref.more && refLength === expected;
    if (refused !== null) {
      tally.refused++;
      st.dead = true;
      if (!(refused instanceof TightInflateError)) {
        find(`threw ${String(refused)} (not a TightInflateError), rectangle ${k}`);
        continue;
      }
      const msg = refused.message.replace(/\d+ bytes where the rectangle holds \d+/, 'N bytes where the rectangle holds M');
      tally.refusals[msg] = (tally.refusals[msg] ?? 0) + 1;
      if (refExact) {
        tally.stricter[msg] = (tally.stricter[msg] ?? 0) + 1;
        tally.stricterSeeds[msg] ??= seed;
        if ((globalThis as { TIGHT_FUZZ_DEBUG?: boolean }).TIGHT_FUZZ_DEBUG) console.log({ msg, k, honest, keep, expected, sizes: s.sizes, lengths: s.chunks.map((c) => c.length), done: st.done, data: Buffer.from(data).toString('hex').slice(0, 300) });
      }
      if (honest) find(`refused zlib's own stream (${refused.message}), rectangle ${k} of ${expected} bytes`);
      continue;
    }
    tally.accepted++;
    if (got!.length !== expected) find(`returned ${got!.length} bytes for ${expected}, rectangle ${k}`);
    else if (ref.error !== undefined) {
      find(`accepted what zlib refuses (${ref.error}), rectangle ${k} of ${expected} bytes`);
      if ((globalThis as { TIGHT_FUZZ_DEBUG?: boolean }).TIGHT_FUZZ_DEBUG) console.log({ k, honest, firstFlawed: s.firstFlawed, keep, expected, sizes: s.sizes, lengths: s.chunks.map((c) => c.length), done: st.done, head: Buffer.from(whole.subarray(0, 24)).toString('hex') });
    }
    else if (!refExact) find(`accepted ${expected} bytes where zlib gives ${ref.more ? 'more than ' : ''}${refLength}, rectangle ${k}`);
    else {
      const want = ref.out.subarray(st.done);
      let same = true;
      for (let p = 0; p < expected; p++)
        if (got![p] !== want[p]) {
          same = false;
          break;
        }
      if (!same) {
        find(`inflated other bytes than zlib, rectangle ${k} of ${expected} bytes`);
        if ((globalThis as { TIGHT_FUZZ_DEBUG?: boolean }).TIGHT_FUZZ_DEBUG) {
          let p = 0;
          while (got![p] === want[p]) p++;
          console.log({ k, honest, firstFlawed: s.firstFlawed, p, keep, expected, got: Buffer.from(got!.subarray(Math.max(0, p - 8), p + 8)).toString('hex'), want: Buffer.from(want.subarray(Math.max(0, p - 8), p + 8)).toString('hex'), data: Buffer.from(data).toString('hex').slice(0, 400), done: st.done });
        }
      }
    }
    st.fed = fed;
    st.done += expected;
  }
}

/** Runs cases from `seed` on until `cases` are run or `seconds` have passed. */
export async function fuzz(zlib: Zlib, seed: number, cases: number, seconds: number, tally = newTally(), progress?: (t: Tally, seed: number) => void): Promise<Tally> {
  const until = performance.now() + seconds * 1000;
  let last = performance.now();
  for (let n = 0; n < cases && performance.now() < until; n++) {
    await runCase(seed + n, zlib, tally);
    if (progress && performance.now() - last > 30_000) {
      last = performance.now();
      progress(tally, seed + n);
    }
  }
  return tally;
}
