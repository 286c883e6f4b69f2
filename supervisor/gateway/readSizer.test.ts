import { describe, expect, it } from 'vitest';
import { ReadSizer } from './readSizer';

describe('read sizer', () => {
  it('grows while reads fill their buffer, up to its limit, and shrinks on small reads', () => {
    const sizer = new ReadSizer({ minBytes: 16 * 1024, maxBytes: 256 * 1024 });
    expect(sizer.next().length).toBe(64 * 1024);
    for (let i = 0; i < 5; i++) sizer.filled(sizer.currentBytes);
    expect(sizer.currentBytes).toBe(256 * 1024);
    for (let i = 0; i < 10; i++) sizer.filled(6);
    expect(sizer.currentBytes).toBe(16 * 1024);
    sizer.filled(10 * 1024); // between an eighth and full: stays
    expect(sizer.currentBytes).toBe(16 * 1024);
  });

  it('gives a fresh buffer for every read (a chunk still queued is never overwritten)', () => {
    const sizer = new ReadSizer();
    const a = sizer.next();
    const b = sizer.next();
    expect(a.buffer).not.toBe(b.buffer);
  });
});
