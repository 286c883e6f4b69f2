import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { FRAME_HEADER_ROOM, frameInPlace } from './wsFrame';

/** ws's own framing (untyped in @types/ws): what ws.send writes for a server's binary message. */
const { Sender } = ws as unknown as { Sender: { frame: (data: Buffer, options: object) => Buffer[] } };

describe('WebSocket frame in place', () => {
  it.each([1, 6, 125, 126, 4096, 65535, 65536, 300_000])('puts on the wire exactly what ws.send would for %i bytes', (bytes) => {
    const room = Buffer.alloc(FRAME_HEADER_ROOM + bytes);
    const data = room.subarray(FRAME_HEADER_ROOM);
    for (let i = 0; i < bytes; i++) data[i] = (i * 31) & 0xff;
    const expected = Buffer.concat(Sender.frame(Buffer.from(data), { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }));
    const frame = frameInPlace(data, bytes);
    expect(frame.buffer).toBe(room.buffer); // no copy: the header sits in the room before the bytes
    expect(Buffer.from(frame)).toEqual(expected);
  });

  it('refuses bytes with no room before them rather than write over memory that is not theirs', () => {
    expect(() => frameInPlace(Buffer.alloc(200), 200)).toThrow(RangeError);
  });
});
