import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { attributeCall, InjectedCalls, parseAttributeReply } from './cardObjectNames';

/** An XDR opaque: length, bytes, padding to 4. */
const opaque = (b: Buffer) => Buffer.concat([u32(b.length), b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const hyper = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const record = (body: Buffer) => Buffer.concat([u32(0x80000000 | body.length), body]);
/** Caml Crush's reply to C_GetAttributeValue: rv, then each attribute (type, value, length). */
const reply = (xid: number, rv: bigint, attributes: Array<[number, Buffer, bigint]>) =>
  Buffer.concat([u32(xid), u32(1), u32(0), u32(0), u32(0), u32(0), hyper(rv), u32(attributes.length), ...attributes.flatMap(([t, v, l]) => [hyper(BigInt(t)), opaque(v), hyper(l)])]);

describe('object names asked of the token', () => {
  it('asks C_GetAttributeValue for the label and id, on the session and handle given', () => {
    const call = attributeCall(0x11, 0x2a, 0xc1050007);
    expect(call.readUInt32BE(0) & 0x7fffffff).toBe(call.length - 4);
    expect([call.readUInt32BE(4), call.readUInt32BE(8), call.readUInt32BE(16), call.readUInt32BE(20), call.readUInt32BE(24)]).toEqual([0xc1050007, 0, 4, 3, 31]);
    expect(call.readBigUInt64BE(44)).toBe(0x11n);
    expect(call.readBigUInt64BE(52)).toBe(0x2an);
    expect(call.readUInt32BE(60)).toBe(2);
  });

  it('reads the label and id of the reply; an attribute unavailable or cut short is left out', () => {
    const label = Buffer.alloc(128);
    label.write('high-secret');
    expect(parseAttributeReply(reply(1, 0n, [[3, label, 11n], [0x102, Buffer.from([3]), 1n]]))).toEqual({ label: 'high-secret', id: '03' });
    expect(parseAttributeReply(reply(1, 0x12n, [[3, Buffer.alloc(0), 0xffffffffffffffffn], [0x102, Buffer.from([1, 0xa2]), 2n]]))).toEqual({ id: '01a2' });
    // The filter's refusal (a hidden object), a truncated reply, a control character in a label.
    expect(parseAttributeReply(reply(1, 0x82n, []))).toBeNull();
    expect(parseAttributeReply(reply(1, 0n, [[3, label, 11n]]).subarray(0, 40))).toBeNull();
    expect(parseAttributeReply(reply(1, 0n, [[3, Buffer.from('a\nb\u202e'), 5n]]))?.label).toBe('a\uFFFDb\uFFFD');
  });

  it('takes the answer out of the proxy\'s stream, split anywhere; the next reply reaches the cage whole', async () => {
    const answer = record(reply(0xc1050001, 0n, [[3, Buffer.from('key'), 3n]]));
    const next = record(Buffer.from('the cage\'s own reply, untouched'));
    const stream = Buffer.concat([answer, next]);
    for (let cut = 1; cut < stream.length; cut++) {
      const written: Buffer[] = [];
      const calls = new InjectedCalls({ destroyed: false, write: (b: Buffer) => written.push(b) } as unknown as Socket);
      const asked = calls.ask(attributeCall(1, 2), true);
      expect(written).toHaveLength(1);
      const toCage: Buffer[] = [];
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) toCage.push(calls.taking ? calls.take(chunk) : chunk);
      expect(Buffer.concat(toCage).equals(next), `cut at ${cut}`).toBe(true);
      expect(parseAttributeReply((await asked)!)).toEqual({ label: 'key' });
    }
  });

  it('asks nothing when the connection is not quiet, nor twice at once', async () => {
    const written: Buffer[] = [];
    const calls = new InjectedCalls({ destroyed: false, write: (b: Buffer) => written.push(b) } as unknown as Socket);
    expect(await calls.ask(attributeCall(1, 2), false)).toBeNull();
    void calls.ask(attributeCall(1, 2), true);
    expect(await calls.ask(attributeCall(1, 3), true)).toBeNull();
    expect(written).toHaveLength(1);
    calls.close();
  });
});
