import { describe, expect, it } from 'vitest';
import { ReadRing } from './readRing';

/** A small deterministic generator: the same sequence of reads and releases every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
}

describe('read ring', () => {
  it('reads into the same memory again once the viewer has its bytes (no buffer per read)', () => {
    const ring = new ReadRing(1024 * 1024);
    const first = ring.next(256 * 1024);
    ring.taken(256 * 1024);
    ring.release();
    for (let i = 0; i < 100; i++) {
      const buf = ring.next(256 * 1024);
      expect(buf.buffer).toBe(first.buffer);
      ring.taken(200 * 1024);
      ring.release();
    }
  });

  it.each([0, 10])('never hands out bytes a chunk not yet written still holds, whatever the sizes and the order of writes (headroom %i)', (headroom) => {
    const size = 256 * 1024;
    const ring = new ReadRing(size, headroom);
    const random = lcg(7);
    const held: { buffer: ArrayBufferLike; start: number; end: number }[] = [];
    let ringReads = 0;
    let freshReads = 0;
    const ringMemory = ring.next(1).buffer;
    for (let i = 0; i < 5000; i++) {
      const want = [64, 4096, 16 * 1024, 64 * 1024, 128 * 1024][Math.floor(random() * 5)] ?? 64;
      const buf = ring.next(want);
      expect(buf.length).toBeGreaterThan(0);
      expect(buf.length).toBeLessThanOrEqual(want);
      const bytes = Math.max(1, Math.floor(random() * buf.length) + 1);
      // A chunk holds its headroom too (its frame header is written there).
      expect(buf.byteOffset).toBeGreaterThanOrEqual(headroom);
      const chunk = { buffer: buf.buffer, start: buf.byteOffset - headroom, end: buf.byteOffset + Math.min(bytes, buf.length) };
      for (const h of held) {
        const overlaps = h.buffer === chunk.buffer && chunk.start < h.end && h.start < chunk.end;
        expect(overlaps, `read ${i} lands on a chunk still held`).toBe(false);
      }
      if (buf.buffer === ringMemory) ringReads++;
      else freshReads++;
      ring.taken(chunk.end - buf.byteOffset);
      held.push(chunk);
      // The viewer's socket writes chunks in order, sometimes none for a while, sometimes many.
      let writes: number = held.length > 24 ? held.length : random() < 0.4 ? 0 : Math.floor(random() * 4);
      for (; writes > 0 && held.length; writes--) {
        held.shift();
        ring.release();
      }
    }
    expect(ringReads).toBeGreaterThan(freshReads);
    for (; held.length; held.shift()) ring.release();
    expect(ring.chunksHeld).toBe(0);
  });

  it('gives a fresh buffer when the ring is full, and the ring again once written', () => {
    const ring = new ReadRing(64 * 1024);
    const a = ring.next(64 * 1024);
    ring.taken(64 * 1024);
    const b = ring.next(64 * 1024);
    expect(b.buffer).not.toBe(a.buffer);
    ring.taken(64 * 1024);
    ring.release();
    ring.release();
    expect(ring.next(64 * 1024).buffer).toBe(a.buffer);
  });
});
