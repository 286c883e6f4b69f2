/**
 * The cage manager's frames: whole frames whatever the split, and every bad frame a FrameError
 * before its body is held.
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeFrame, FrameError, FrameReader } from './frames';

const prefixed = (body: Buffer) => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};

describe('FrameReader', () => {
  it('gives back two frames split at every byte', () => {
    const bytes = Buffer.concat([encodeFrame({ id: 1, request: { op: 'cage.stop', level: 'low' } }), encodeFrame({ id: 2, é: 'ü' })]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(frames).toEqual([{ id: 1, request: { op: 'cage.stop', level: 'low' } }, { id: 2, é: 'ü' }]);
    }
  });

  const bad: Array<[string, Buffer, FrameError['reason']]> = [
    ['a length over the limit (read from the prefix alone)', Buffer.from([0x40, 0, 0, 0]), 'too-large'],
    ['an empty frame', Buffer.from([0, 0, 0, 0]), 'empty'],
    ['a body that is not JSON', prefixed(Buffer.from('{op:')), 'not-json'],
    ['a body that is not UTF-8', prefixed(Buffer.from([0x22, 0xff, 0xfe, 0x22])), 'not-json'],
  ];
  for (const [name, bytes, reason] of bad) {
    it(`refuses ${name}, and keeps refusing`, () => {
      const reader = new FrameReader(1024);
      expect(() => reader.push(bytes)).toThrow(expect.objectContaining({ reason }));
      expect(() => reader.push(encodeFrame({ id: 1 }))).toThrow(FrameError);
    });
  }

  it('will not encode a frame over the limit', () => {
    expect(() => encodeFrame({ big: 'x'.repeat(2000) }, 1024)).toThrow(/over the 1024-byte limit/);
  });

  it('copies a frame sent one byte per write once, not once per byte', () => {
    const frame = encodeFrame({ text: 'x'.repeat(40_000) }, 64 * 1024);
    const reader = new FrameReader(64 * 1024);
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, length) => {
      const out = concat(list, length);
      copied += out.length;
      return out;
    });
    const frames: unknown[] = [];
    try {
      for (let i = 0; i < frame.length; i++) frames.push(...reader.push(frame.subarray(i, i + 1)));
    } finally {
      spy.mockRestore();
    }
    expect(frames).toEqual([{ text: 'x'.repeat(40_000) }]);
    console.log(`bytes copied for a ${frame.length}-byte frame sent a byte at a time: ${copied}`);
    expect(copied).toBeLessThanOrEqual(2 * frame.length);
  });
});
