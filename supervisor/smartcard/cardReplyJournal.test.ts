import { describe, expect, it } from 'vitest';
import { CardReplyJournal, MAX_REFUSALS_PER_CONNECTION, RECORD_HEAD_BYTES, type CardEvent } from './cardReplyJournal';
import { RecordMarks } from './recordGuard';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const hyper = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const opaque = (data: Buffer) => Buffer.concat([u32(data.length), data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
/** An ONC RPC call to Caml Crush's program (4, version 3), AUTH_NONE. */
const call = (xid: number, procedure: number, ...args: Buffer[]) => Buffer.concat([u32(xid), u32(0), u32(2), u32(4), u32(3), u32(procedure), u32(0), u32(0), u32(0), u32(0), ...args]);
const reply = (xid: number, rv: number) => Buffer.concat([u32(xid), u32(1), u32(0), u32(0), u32(0), u32(0), hyper(rv)]);
const mechanism = (type: number, parameter = Buffer.alloc(0)) => Buffer.concat([hyper(type), opaque(parameter)]);

describe('card journal from the RPC replies', () => {
  it('names the refused function and the handle from the call; logins with their outcome; never a PIN', () => {
    const events: CardEvent[] = [];
    const journal = new CardReplyJournal(new Set(['C_SetPIN', 'C_WrapKey']), (e) => events.push(e));
    journal.call(call(1, 9, hyper(5), hyper(1), opaque(Buffer.from('123456'))));
    journal.reply(reply(1, 0));
    journal.call(call(2, 19, hyper(5), opaque(Buffer.from('123456')), opaque(Buffer.from('999999'))));
    journal.reply(reply(2, 0x54));
    // C_SignInit on a handle the filter hides: the handle follows the mechanism (with a parameter).
    journal.call(call(3, 42, hyper(5), mechanism(0x40, Buffer.from('abcde')), hyper(77)));
    journal.reply(reply(3, 0x82));
    journal.call(call(4, 31, hyper(5), hyper(12), u32(0)));
    journal.reply(reply(4, 0x11));
    // C_WrapKey: the key wrapped out is the second handle.
    journal.call(call(5, 34, hyper(5), mechanism(1), hyper(3), hyper(4)));
    journal.reply(reply(5, 0x54));
    // The Security Officer's login refused.
    journal.call(call(6, 9, hyper(5), hyper(0), opaque(Buffer.from('87654321'))));
    journal.reply(reply(6, 0x103));
    // Succeeded: nothing; a reply to no call: nothing.
    journal.call(call(7, 42, hyper(5), mechanism(1), hyper(2)));
    journal.reply(reply(7, 0));
    journal.reply(reply(99, 0x54));
    expect(events).toEqual([
      { kind: 'login', ok: true },
      { kind: 'refused', function: 'C_SetPIN', handle: null, reason: 'denied-function' },
      { kind: 'refused', function: 'C_SignInit', handle: 77, reason: 'hidden-object' },
      { kind: 'refused', function: 'C_GetAttributeValue', handle: 12, reason: 'sensitive-value' },
      { kind: 'refused', function: 'C_WrapKey', handle: 4, reason: 'denied-function' },
      { kind: 'refused', function: 'C_Login', handle: null, reason: 'denied-function' },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/123456|999999|87654321/);
  });

  it('ignores records of another shape and bounds what one connection journals', () => {
    const events: CardEvent[] = [];
    const journal = new CardReplyJournal(new Set(), (e) => events.push(e));
    journal.call(Buffer.from('garbage'));
    journal.call(call(1, 42, hyper(5), Buffer.from([0, 0])));
    journal.reply(Buffer.alloc(3));
    journal.reply(reply(1, 0x82));
    expect(events).toEqual([{ kind: 'refused', function: 'C_SignInit', handle: null, reason: 'hidden-object' }]);
    for (let i = 0; i < 100; i++) {
      journal.call(call(100 + i, 42, hyper(5), mechanism(1), hyper(1000 + i)));
      journal.reply(reply(100 + i, 0x82));
    }
    expect(events).toHaveLength(MAX_REFUSALS_PER_CONNECTION + 1);
    expect(events.at(-1)).toMatchObject({ reason: 'journal-limit' });
  });

  it('gets each record\'s head from the guard, fragments joined, split at every byte', () => {
    const body = call(1, 9, hyper(5), hyper(1), opaque(Buffer.alloc(300, 0x31)));
    const stream = Buffer.concat([u32(10), body.subarray(0, 10), u32((0x80000000 | (body.length - 10)) >>> 0), body.subarray(10)]);
    const heads: Buffer[] = [];
    const marks = new RecordMarks(1 << 20, (head) => heads.push(head), RECORD_HEAD_BYTES);
    for (const byte of stream) expect(marks.feed(Buffer.from([byte]))).toBe(true);
    expect(heads).toEqual([body.subarray(0, RECORD_HEAD_BYTES)]);
  });
});
