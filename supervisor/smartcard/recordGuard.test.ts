import { describe, expect, it } from 'vitest';
import { RecordMarks } from './recordGuard';

const mark = (length: number, last = true) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((last ? 0x80000000 : 0) + length);
  return b;
};

describe('record marks', () => {
  it('passes records within the bound, however the bytes are split', () => {
    const stream = Buffer.concat([mark(10), Buffer.alloc(10), mark(3, false), Buffer.alloc(3), mark(5), Buffer.alloc(5)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const marks = new RecordMarks(10);
      expect(marks.feed(stream.subarray(0, cut)) && marks.feed(stream.subarray(cut))).toBe(true);
    }
  });

  it('refuses a record announced over the bound before any of its body', () => {
    expect(new RecordMarks(16 * 2 ** 20).feed(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBe(false);
  });

  it('counts every fragment of a record together', () => {
    const marks = new RecordMarks(10);
    expect(marks.feed(Buffer.concat([mark(6, false), Buffer.alloc(6)]))).toBe(true);
    expect(marks.feed(mark(6))).toBe(false);
  });

  it('starts counting again after a last fragment', () => {
    const marks = new RecordMarks(10);
    for (let i = 0; i < 5; i++) expect(marks.feed(Buffer.concat([mark(10), Buffer.alloc(10)]))).toBe(true);
  });
});
