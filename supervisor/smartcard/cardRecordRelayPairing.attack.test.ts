/**
 * Attack (attack-9): a cage that pipelines its calls, reusing a call number (xid) or sending more
 * calls than the guard keeps track of, makes the journal pair a reply with the wrong call — a failed
 * login journaled as a successful one, or not at all (PIN guesses with no trace). A PKCS#11 client
 * waits for each reply and numbers its calls: the guard ends a connection that reuses the number of
 * a call still awaiting its reply, or has more calls awaiting replies than it follows; nothing of the
 * offending bytes reaches the proxy. Both relays (the program, and Node's when it cannot run).
 * Needs `npm run build` (the program's build).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy } from '../testing/highCardProxy';
import { skipWhenMissing } from '../testing/skipWithReason';
import { testRoot } from '../testing/testRoots';
import { builtCardRecordRelay, CARD_RECORD_RELAY_NAME } from './cardRecordRelay';
import { CardReplyJournal, type CardEvent } from './cardReplyJournal';
import { RecordGuard, WholeRecords } from './recordGuard';

// High's card proxy for the real client's run, and low's (+ 1) for the token's group: two uids of 56720–56739 per process.
const PROXY_UID = 56720 + 2 * (process.pid % 10);
const LOGIN = 9;
const LOGOUT = 10;
const GET_ATTRIBUTE_VALUE = 31;
/** The number of the reply the stand-in sends unasked (attack-10), after each logout's. */
const UNASKED = 7777;
const CKR_PIN_INCORRECT = 0xa0;

const mark = (length: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 + length) >>> 0);
  return b;
};
/** A call record (AUTH_NONE): session 1, then `second` (a login's user type: 1, CKU_USER; a handle), then 8 bytes. */
const call = (xid: number, procedure: number, second = 1) => {
  const body = Buffer.alloc(40 + 24);
  [xid, 0, 2, 4, 3, procedure, 0, 0, 0, 0].forEach((w, i) => body.writeUInt32BE(w, i * 4));
  body.writeBigUInt64BE(1n, 40);
  body.writeBigUInt64BE(BigInt(second), 48);
  return Buffer.concat([mark(body.length), body]);
};
const reply = (xid: number, rv: number) => {
  const body = Buffer.alloc(48);
  body.writeUInt32BE(xid, 0);
  body.writeUInt32BE(1, 4);
  body.writeUInt32BE(rv, 28);
  return Buffer.concat([mark(body.length), body]);
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The stand-in proxy: answers each call in order; a login with a wrong PIN (every login here), the
 * rest CKR_OK. `unasked`: after each logout's reply, one to a call never made (CKR_OK, number UNASKED).
 */
async function standIn(unasked = false): Promise<{ dir: string; received: Buffer[] }> {
  const dir = testRoot('cloison-attack9-pairing-');
  const received: Buffer[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    const index = received.push(Buffer.alloc(0)) - 1;
    sockets.push(socket);
    const records = new WholeRecords();
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index]!, chunk]);
      for (const body of records.feed(chunk)) {
        socket.write(reply(body.readUInt32BE(0), body.readUInt32BE(20) === LOGIN ? CKR_PIN_INCORRECT : 0));
        if (unasked && body.readUInt32BE(20) === LOGOUT) socket.write(reply(UNASKED, 0));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(join(dir, 'proxy.sock'), r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { dir, received };
}

async function guarded(native: boolean, unasked = false): Promise<{ socket: string; events: CardEvent[]; refusals: string[]; received: Buffer[] }> {
  const { dir, received } = await standIn(unasked);
  const events: CardEvent[] = [];
  const refusals: string[] = [];
  const socket = join(dir, 'cage.sock');
  const guard = new RecordGuard({
    listen: socket,
    target: join(dir, 'proxy.sock'),
    refused: (r) => refusals.push(r),
    watch: () => new CardReplyJournal(new Set(), (e) => events.push(e)),
    ...(native ? { relay: { program: builtCardRecordRelay() } } : {}),
  });
  await guard.start();
  cleanups.push(() => guard.stop());
  return { socket, events, refusals, received };
}

async function cage(socket: string): Promise<{ cage: Socket; got: () => Buffer; closed: Promise<void> }> {
  const s = createConnection(socket);
  let got = Buffer.alloc(0);
  s.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  await new Promise<void>((r) => s.once('connect', () => r()));
  cleanups.push(() => void s.destroy());
  return { cage: s, got: () => got, closed };
}

const until = async (what: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const settle = () => new Promise((r) => setTimeout(r, 150));
const logins = (received: Buffer[]) => received.flatMap((r) => new WholeRecords().feed(r)).filter((b) => b.readUInt32BE(20) === LOGIN).length;

describe.each([
  ['the relay program', true],
  ["Node's relay", false],
])('the journal against a cage pipelining its calls (%s)', (_name, native) => {
  it('a failed login is never journaled as a success: a call reusing the number of one awaiting its reply ends the connection', async () => {
    const { socket, events, refusals, received } = await guarded(native);
    const { cage: s, got, closed } = await cage(socket);
    // Seven calls answered one by one (the program's table of calls turned round), then a login
    // and a call under the same number, together.
    for (let k = 1; k <= 7; k++) {
      s.write(call(k, GET_ATTRIBUTE_VALUE));
      await until(() => got().length === k * reply(0, 0).length);
    }
    s.write(Buffer.concat([call(100, LOGIN), call(100, GET_ATTRIBUTE_VALUE)]));
    await Promise.race([closed, settle()]);
    await settle();
    expect(events.filter((e) => e.kind === 'login' && e.ok)).toEqual([]);
    // Ended before the login reached the proxy: no PIN tried unjournaled.
    expect(logins(received) === 0 || events.some((e) => e.kind === 'login' && !e.ok)).toBe(true);
    expect(refusals).toEqual(['pipelined']);
  });

  it('a failed login is never left out of the journal: more calls awaiting their replies than the guard follows end the connection', async () => {
    const { socket, events, refusals, received } = await guarded(native);
    const { cage: s, closed } = await cage(socket);
    // A login, then calls enough to push it out of what the guard follows, in one write.
    const many = Array.from({ length: 70 }, (_, k) => call(200 + k, GET_ATTRIBUTE_VALUE));
    s.write(Buffer.concat([call(199, LOGIN), ...many]));
    await Promise.race([closed, settle()]);
    await settle();
    expect(logins(received) === 0 || events.some((e) => e.kind === 'login' && !e.ok)).toBe(true);
    expect(refusals).toEqual(['pipelined']);
  });

  // attack-10: sequences attack-9 did not try. Held: each login paired with its own reply.
  it('logins and logouts interleaved and pipelined within the bound, numbers distinct: every failed login journaled as failed', async () => {
    const { socket, events, refusals, received } = await guarded(native);
    const { cage: s, got } = await cage(socket);
    const calls = [call(1, LOGIN), call(2, LOGOUT), call(3, LOGIN), call(4, LOGOUT), call(5, LOGIN), call(6, LOGOUT), call(7, LOGIN)];
    s.write(Buffer.concat(calls));
    await until(() => got().length === calls.length * reply(0, 0).length);
    await settle();
    expect(logins(received)).toBe(4);
    expect(events).toEqual(Array.from({ length: 4 }, () => ({ kind: 'login', ok: false })));
    expect(refusals).toEqual([]);
    // The same numbers again once answered: a number is the cage's to reuse then.
    s.write(Buffer.concat([call(1, LOGIN), call(2, LOGOUT)]));
    await until(() => got().length === (calls.length + 2) * reply(0, 0).length);
    await settle();
    expect(events.filter((e) => e.kind === 'login' && e.ok)).toEqual([]);
    expect(events.filter((e) => e.kind === 'login')).toHaveLength(5);
  });

  /*
   * A proxy that replies unasked is a proxy taken over (pkcs11proxyd answers each call once, with
   * its number): it may then pair its reply with a login of the cage's awaiting one (journaled as a
   * success, below), as it may answer CKR_OK in place of the real reply. Not refused: that proxy
   * holds the token's module and tries PINs without the guard anyway; the cage alone cannot make
   * the proxy answer a number early (a number awaiting its reply is not reused, see above).
   */
  it('a reply the proxy sends unasked: nothing journaled for it alone, the cage served on', async () => {
    const { socket, events, refusals } = await guarded(native, true);
    const { cage: s, got } = await cage(socket);
    // A logout (answered, then the unasked reply), then a login numbered as the unasked reply.
    s.write(call(1, LOGOUT));
    await until(() => got().length === 2 * reply(0, 0).length);
    s.write(call(UNASKED, LOGIN));
    await until(() => got().length === 3 * reply(0, 0).length);
    // Pipelined: the unasked reply arrives while a login of that number awaits its own.
    s.write(Buffer.concat([call(2, LOGOUT), call(UNASKED, LOGIN)]));
    await until(() => got().length === 6 * reply(0, 0).length);
    await settle();
    expect(refusals).toEqual([]);
    // The waited-for login journaled as failed; the pipelined one paired with the unasked CKR_OK
    // (its number): the proxy's word, taken as any reply of the proxy's is.
    console.log(`journal with a proxy replying unasked (${native ? 'program' : 'Node'}): ${JSON.stringify(events)}`);
    expect(events).toEqual([{ kind: 'login', ok: false }, { kind: 'login', ok: true }]);
  });

  it('a client waiting for each reply, numbering its calls, is served and journaled', async () => {
    const { socket, events, refusals } = await guarded(native);
    const { cage: s, got } = await cage(socket);
    for (let k = 1; k <= 20; k++) {
      s.write(call(k, k % 5 === 0 ? LOGIN : GET_ATTRIBUTE_VALUE));
      await until(() => got().length === k * reply(0, 0).length);
    }
    await settle();
    expect(events).toEqual(Array.from({ length: 4 }, () => ({ kind: 'login', ok: false })));
    expect(refusals).toEqual([]);
  });
});

const missing = missingForCardTest('the real client through the relay program', { cages: false });
describe('a real application through the relay program (Caml Crush\'s client, SoftHSM2)', skipWhenMissing(missing), () => {
  it('waits for each reply and numbers its calls: never ended as pipelining, each login journaled', async () => {
    const { root, token } = cardTestRoot('cloison-attack9-client-', PROXY_UID);
    const doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
    const records: { kind: string; fields: Record<string, unknown> }[] = [];
    const relays = await withHighCardProxy(join(root, 'card'), token, PROXY_UID, { record: (kind: string, _by: string, fields: Record<string, unknown>) => records.push({ kind, fields }) }, async (proxy) => {
      for (let k = 0; k < 3; k++) expect(await proxy.sign(doc, join(root, `sig-${k}`))).toBe(256);
      return execFileSync('pgrep', ['-P', String(process.pid), '-f', CARD_RECORD_RELAY_NAME], { encoding: 'utf8' }).trim();
    });
    expect(relays).not.toBe('');
    expect(records.filter((r) => r.kind === 'smartcard.refused')).toEqual([]);
    expect(records.filter((r) => r.kind === 'smartcard.login').map((r) => r.fields.ok)).toEqual([true, true, true]);
  }, 120_000);
});
