/**
 * The cage manager's frames: whole frames whatever the split, and every bad frame a FrameError
 * before its body is held.
 */
import { describe, expect, it } from 'vitest';
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
});
