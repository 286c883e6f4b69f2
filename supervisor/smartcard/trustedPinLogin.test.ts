import { describe, expect, it } from 'vitest';
import { Confirmations } from '../confirm/confirmations';
import { WholeRecords } from './recordGuard';
import { CKR_FUNCTION_CANCELED, loginCall, TrustedPinLogin, withPin, withProtectedPath } from './trustedPinLogin';
import { TrustedPinDialog, type PinOutcome } from './trustedPinDialog';

/** A Caml Crush call body: header, AUTH_NONE credentials and verifier, then `args`. */
function callBody(xid: number, procedure: number, args: Buffer, credentials: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(28);
  [xid, 0, 2, 4, 3, procedure, 1].forEach((w, i) => head.writeUInt32BE(w, i * 4));
  const cred = Buffer.alloc(4 + Math.ceil(credentials.length / 4) * 4);
  cred.writeUInt32BE(credentials.length, 0);
  credentials.copy(cred, 4);
  return Buffer.concat([head, cred, Buffer.alloc(8), args]);
}
const hyper = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const opaque = (bytes: Buffer) => {
  const b = Buffer.alloc(4 + Math.ceil(bytes.length / 4) * 4);
  b.writeUInt32BE(bytes.length, 0);
  bytes.copy(b, 4);
  return b;
};
const loginBody = (xid: number, userType: number, pin: string | null, credentials?: Buffer) => callBody(xid, 9, Buffer.concat([hyper(7), hyper(userType), opaque(Buffer.from(pin ?? ''))]), credentials);
const mark = (body: Buffer, last = true) => {
  const m = Buffer.alloc(4);
  m.writeUInt32BE(((last ? 0x80000000 : 0) | body.length) >>> 0);
  return Buffer.concat([m, body]);
};
/** The PIN field of a marked login record. */
const pinOf = (record: Buffer) => {
  const login = loginCall(record.subarray(4))!;
  const length = record.readUInt32BE(4 + login.pinAt);
  return record.subarray(4 + login.pinAt + 4, 4 + login.pinAt + 4 + length).toString();
};

describe('trusted PIN on the wire', () => {
  it('finds a login whatever its credentials, and only a login', () => {
    expect(loginCall(loginBody(5, 1, '1234'))).toMatchObject({ xid: 5, userType: 1 });
    expect(loginCall(loginBody(5, 1, '1234', Buffer.from('some credentials')))).toMatchObject({ xid: 5, userType: 1 });
    expect(loginCall(callBody(5, 10, hyper(7)))).toBeNull(); // C_Logout
    expect(loginCall(loginBody(5, 1, '1234').subarray(0, 50))).toBeNull(); // cut short
    const otherProgram = loginBody(5, 1, '1234');
    otherProgram.writeUInt32BE(5, 12);
    expect(loginCall(otherProgram)).toBeNull();
  });

  it('puts the typed PIN in place of what the cage sent: a PIN, a longer one, none', () => {
    for (const sent of ['000000', 'a much longer PIN than the typed one', null]) {
      const body = loginBody(9, 1, sent);
      const record = withPin(body, loginCall(body)!, Buffer.from('4815'));
      expect(record.readUInt32BE(0)).toBe((0x80000000 | (record.length - 4)) >>> 0);
      expect(pinOf(record)).toBe('4815');
      expect(record.length % 4).toBe(0);
      if (sent) expect(record.includes(Buffer.from(sent))).toBe(false);
    }
  });

  it('no PIN from the user: the guard answers CKR_FUNCTION_CANCELED and nothing goes to the card', async () => {
    const login = new TrustedPinLogin(async () => null);
    const outcome = await login.call(loginBody(77, 1, '123456'));
    expect('answer' in outcome).toBe(true);
    const reply = (outcome as { answer: Buffer }).answer;
    expect(reply.readUInt32BE(4)).toBe(77);
    expect(Number(reply.readBigUInt64BE(reply.length - 8))).toBe(CKR_FUNCTION_CANCELED);
  });

  it('the typed PIN is forwarded once, its bytes zeroed; an officer login goes with an empty PIN and no dialog', async () => {
    const typed = Buffer.from('4815');
    let asked = 0;
    const login = new TrustedPinLogin(async () => (asked++, typed));
    const outcome = (await login.call(loginBody(1, 1, '000000'))) as { forward: Buffer; secret: boolean };
    expect(pinOf(outcome.forward)).toBe('4815');
    expect(outcome.secret).toBe(true);
    expect(typed.every((b) => b === 0)).toBe(true);
    const officer = (await login.call(loginBody(2, 0, '87654321'))) as { forward: Buffer };
    expect(pinOf(officer.forward)).toBe('');
    expect(asked).toBe(1);
  });

  it('sets CKF_PROTECTED_AUTHENTICATION_PATH in C_GetTokenInfo replies, and only those', async () => {
    const login = new TrustedPinLogin(async () => null);
    await login.call(callBody(40, 8, hyper(0)));
    const tokenInfo = (xid: number, rv = 0) => {
      const head = Buffer.alloc(24);
      [xid, 1, 0, 0, 0, 0].forEach((w, i) => head.writeUInt32BE(w, i * 4));
      const fields = [32, 32, 16, 16].map((n) => opaque(Buffer.alloc(n, 0x20)));
      return Buffer.concat([head, hyper(rv), ...fields, hyper(0x40d), Buffer.alloc(80)]);
    };
    const flagsOf = (record: Buffer) => Number(record.readBigUInt64BE(4 + 32 + 4 * 4 + 96));
    expect(flagsOf(login.reply(tokenInfo(40)))).toBe(0x50d);
    expect(flagsOf(login.reply(tokenInfo(41)))).toBe(0x40d); // a reply to another call
    expect(flagsOf(mark(withProtectedPath(tokenInfo(42, 0xe0))))).toBe(0x40d); // an error: nothing to mark
  });

  it('joins a record\'s fragments, however the bytes are split', () => {
    const body = loginBody(3, 1, '1234');
    const stream = Buffer.concat([mark(body.subarray(0, 20), false), mark(body.subarray(20)), mark(Buffer.from([1, 2, 3, 4]))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const records = new WholeRecords();
      const out = [...records.feed(stream.subarray(0, cut)), ...records.feed(stream.subarray(cut))];
      expect(out).toEqual([body, Buffer.from([1, 2, 3, 4])]);
    }
  });
});

describe('trusted PIN dialog', () => {
  const setup = () => {
    const outcomes: Array<[string, PinOutcome]> = [];
    const published: string[] = [];
    const confirmations = new Confirmations({ publish: (r) => published.push(r.id), settle: () => undefined, armMs: 0 });
    const dialog = new TrustedPinDialog({ confirmations: () => confirmations, outcome: (level, outcome) => outcomes.push([level, outcome]) });
    return { outcomes, published, confirmations, dialog };
  };

  it('the workstation locking cancels a dialog left open (lock screen wins)', async () => {
    const { outcomes, published, confirmations, dialog } = setup();
    const pin = dialog.ask('high', 'firefox-esr');
    expect(published).toHaveLength(1);
    confirmations.expireAll(); // what the lock does
    expect(await pin).toBeNull();
    expect(outcomes).toEqual([['high', 'timed-out']]);
    expect(() => dialog.typed(published[0]!, '4815')).toThrow(/no PIN is being asked/);
  });

  it('the login\'s connection closing closes its dialog: no PIN taken, journaled cage-gone, held off like a cancel', async () => {
    const settled: string[] = [];
    const outcomes: Array<[string, PinOutcome]> = [];
    const published: string[] = [];
    const confirmations = new Confirmations({ publish: (r) => published.push(r.id), settle: (id, answer) => settled.push(`${id} ${answer}`), armMs: 0 });
    const dialog = new TrustedPinDialog({ confirmations: () => confirmations, outcome: (level, outcome) => outcomes.push([level, outcome]) });
    const gone = new AbortController();
    const pin = dialog.ask('high', 'pkcs11-tool', gone.signal);
    expect(published).toHaveLength(1);
    gone.abort();
    expect(settled).toEqual([`${published[0]} refused`]);
    expect(await pin).toBeNull();
    expect(() => dialog.typed(published[0]!, '4815')).toThrow(/no PIN is being asked/);
    expect(await dialog.ask('high', 'pkcs11-tool')).toBeNull();
    expect(published).toHaveLength(1);
    expect(outcomes).toEqual([['high', 'cage-gone'], ['high', 'held-off']]);
    // A connection already closed asks nothing.
    expect(await dialog.ask('low', 'x', gone.signal)).toBeNull();
    expect(published).toHaveLength(1);
  });

  it('a PIN never answers another question; a second login is refused while a dialog is open', async () => {
    const { outcomes, published, confirmations, dialog } = setup();
    const crossing = confirmations.ask({ kind: 'pin', level: 'low', application: 'x' });
    expect(await dialog.ask('high', 'x')).toBeNull(); // another question waits: refused, not queued
    expect(() => dialog.typed(published[0]!, '4815')).toThrow(/no PIN is being asked/);
    confirmations.answer(published[0]!, 'refused');
    await crossing;
    const first = dialog.ask('high', 'x');
    expect(await dialog.ask('low', 'y')).toBeNull();
    dialog.typed(published[1]!, '4815');
    expect((await first)?.toString()).toBe('4815');
    expect(outcomes).toEqual([['high', 'busy'], ['low', 'busy'], ['high', 'typed']]);
  });

  it('a level whose dialog was cancelled asks again only after a hold-off, doubling, ended by a PIN typed (a cage looping C_Login cannot keep the dialog up)', async () => {
    let now = 0;
    const outcomes: Array<[string, PinOutcome]> = [];
    const published: string[] = [];
    const confirmations = new Confirmations({ publish: (r) => published.push(r.id), settle: () => undefined, armMs: 0 });
    const dialog = new TrustedPinDialog({ confirmations: () => confirmations, outcome: (level, outcome) => outcomes.push([level, outcome]), now: () => now });
    const cancelled = dialog.ask('low', 'loop');
    confirmations.answer(published[0]!, 'refused');
    expect(await cancelled).toBeNull();
    // The loop's next logins: no dialog, journaled once.
    for (let i = 0; i < 100; i++) expect(await dialog.ask('low', 'loop')).toBeNull();
    expect(published).toHaveLength(1);
    // The other level is not held off by low's.
    const high = dialog.ask('high', 'pkcs11-tool');
    expect(published).toHaveLength(2);
    dialog.typed(published[1]!, '4815');
    expect((await high)?.toString()).toBe('4815');
    now = 5_000; // the hold-off over: asked again; cancelled again, twice as long
    const again = dialog.ask('low', 'loop');
    expect(published).toHaveLength(3);
    confirmations.answer(published[2]!, 'refused');
    await again;
    now = 14_000;
    expect(await dialog.ask('low', 'loop')).toBeNull();
    expect(published).toHaveLength(3);
    now = 15_000;
    const typed = dialog.ask('low', 'loop');
    dialog.typed(published[3]!, '4815');
    expect((await typed)?.toString()).toBe('4815');
    const next = dialog.ask('low', 'loop'); // a PIN typed ends the hold-off
    expect(published).toHaveLength(5);
    confirmations.answer(published[4]!, 'refused');
    await next;
    expect(outcomes).toEqual([['low', 'cancelled'], ['low', 'held-off'], ['high', 'typed'], ['low', 'cancelled'], ['low', 'held-off'], ['low', 'typed'], ['low', 'cancelled']]);
  });
});
