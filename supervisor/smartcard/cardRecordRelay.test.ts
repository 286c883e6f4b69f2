/**
 * The record guard with its relay program (native/cardRecordRelay.c), attacked from the cage's
 * socket: what reaches the proxy, what the cage gets back, what the journal sees. The proxy here
 * is a stand-in speaking Caml Crush's RPC framing (one reply per call; a C_SignInit refused).
 * Needs `npm run build` (the program's build).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { builtCardRecordRelay, CardRecordRelay, checkRelayProgram } from './cardRecordRelay';
import { RecordGuard, WholeRecords } from './recordGuard';

const PROGRAM = builtCardRecordRelay();
const SIGN_INIT = 42;
const GET_ATTRIBUTE_VALUE = 31;
const CKR_OBJECT_HANDLE_INVALID = 0x82;

const mark = (length: number, last = true) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(((last ? 0x80000000 : 0) + length) >>> 0);
  return b;
};
/** A call record: xid, CALL, RPC 2, program 4, version 3, the procedure, AUTH_NONE twice, then `args`. */
const call = (xid: number, procedure: number, args = Buffer.alloc(16)) => {
  const header = Buffer.alloc(40);
  [xid, 0, 2, 4, 3, procedure, 0, 0, 0, 0].forEach((w, i) => header.writeUInt32BE(w, i * 4));
  const body = Buffer.concat([header, args]);
  return Buffer.concat([mark(body.length), body]);
};
/** A reply record: xid, REPLY, accepted, AUTH_NONE, SUCCESS, the return value (a hyper), then `extra`. */
const reply = (xid: number, rv: number, extra = Buffer.alloc(0)) => {
  const body = Buffer.concat([Buffer.alloc(32), extra]);
  body.writeUInt32BE(xid, 0);
  body.writeUInt32BE(1, 4);
  body.writeUInt32BE(rv, 28);
  return Buffer.concat([mark(body.length), body]);
};

interface Stand {
  dir: string;
  server: Server;
  /** Every byte each proxy connection received, in the order connections came. */
  received: Buffer[];
  connections: Socket[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The stand-in proxy: answers each call record (SignInit refused, the rest CKR_OK with a marker). */
async function standInProxy(options: { answer?: boolean } = {}): Promise<Stand> {
  const dir = testRoot('cloison-relay-');
  const stand: Stand = { dir, server: null as unknown as Server, received: [], connections: [] };
  stand.server = createServer((socket) => {
    const index = stand.received.push(Buffer.alloc(0)) - 1;
    stand.connections.push(socket);
    const records = new WholeRecords();
    socket.on('data', (chunk: Buffer) => {
      stand.received[index] = Buffer.concat([stand.received[index]!, chunk]);
      if (options.answer === false) return;
      for (const body of records.feed(chunk)) {
        const xid = body.readUInt32BE(0);
        const procedure = body.readUInt32BE(20);
        socket.write(procedure === SIGN_INIT ? reply(xid, CKR_OBJECT_HANDLE_INVALID) : reply(xid, 0, Buffer.from(`answer-${procedure}`.padEnd(16))));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => stand.server.listen(join(dir, 'proxy.sock'), r));
  cleanups.push(() => {
    for (const s of stand.connections) s.destroy();
    return new Promise<void>((r) => stand.server.close(() => r()));
  });
  return stand;
}

async function guardBefore(stand: Stand, options: Partial<ConstructorParameters<typeof RecordGuard>[0]> = {}): Promise<{ guard: RecordGuard; refusals: string[]; socket: string }> {
  const refusals: string[] = [];
  const socket = join(stand.dir, 'cage.sock');
  const guard = new RecordGuard({ listen: socket, target: join(stand.dir, 'proxy.sock'), refused: (r) => refusals.push(r), relay: { program: PROGRAM }, ...options });
  await guard.start();
  cleanups.push(() => guard.stop());
  return { guard, refusals, socket };
}

async function cageConnection(socket: string): Promise<{ cage: Socket; got: () => Buffer; closed: Promise<void> }> {
  const cage = createConnection(socket);
  let got = Buffer.alloc(0);
  cage.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  cage.on('error', () => undefined);
  const closed = new Promise<void>((r) => cage.once('close', () => r()));
  await new Promise<void>((r) => cage.once('connect', () => r()));
  cleanups.push(() => void cage.destroy());
  return { cage, got: () => got, closed };
}

const until = async (what: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The relay programs of this process (by parent pid), for a check that the guard's is the one relaying. */
const relayPids = (): string[] => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', PROGRAM], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep: none
  }
};

describe('the guard with its relay program', () => {
  it('is built (npm run build), and the guard relays through it', async () => {
    expect(CardRecordRelay.available(PROGRAM)).toBe(true);
    const stand = await standInProxy();
    const { socket } = await guardBefore(stand);
    const { cage, got } = await cageConnection(socket);
    cage.write(call(7, 1));
    await until(() => got().length > 0);
    expect(got()).toEqual(reply(7, 0, Buffer.from('answer-1'.padEnd(16))));
    expect(relayPids()).toHaveLength(1);
  });

  it('passes every byte on, however the cage splits them', async () => {
    const stand = await standInProxy({ answer: false });
    const { socket } = await guardBefore(stand);
    const stream = Buffer.concat([call(1, 5), mark(3, false), Buffer.from('abc'), mark(5), Buffer.from('defgh'), call(2, 9)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const { cage } = await cageConnection(socket);
      cage.write(stream.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 3));
      cage.write(stream.subarray(cut));
      await until(() => stand.received.length === cut + 1 && stand.received[cut]!.length === stream.length);
      expect(stand.received[cut], `cut at ${cut}`).toEqual(stream);
      cage.destroy();
    }
  }, 30_000);

  it("passes the proxy's replies on whole however they are split, a refusal's held and journaled", async () => {
    const stand = await standInProxy({ answer: false });
    const journaled: number[] = [];
    const { socket } = await guardBefore(stand, { watch: () => ({ call: () => undefined, reply: (head) => journaled.push(head.readUInt32BE(0)) }) });
    // Two fragments, then a refusal of a watched call (C_SignInit), then a plain reply.
    const body = (xid: number) => {
      const b = reply(xid, 0, Buffer.from('0123456789abcdef')).subarray(4);
      return Buffer.concat([mark(10, false), b.subarray(0, 10), mark(b.length - 10), b.subarray(10)]);
    };
    for (let cut = 0; cut <= 120; cut += 1) {
      const { cage, got } = await cageConnection(socket);
      const xids = [cut * 4 + 1, cut * 4 + 2, cut * 4 + 3];
      cage.write(Buffer.concat([call(xids[0]!, 1), call(xids[1]!, SIGN_INIT), call(xids[2]!, 1)]));
      await until(() => stand.received.length === cut + 1 && stand.received[cut]!.length === 3 * call(1, 1).length);
      const stream = Buffer.concat([body(xids[0]!), reply(xids[1]!, CKR_OBJECT_HANDLE_INVALID), body(xids[2]!)]);
      const at = Math.min(cut, stream.length);
      stand.connections[cut]!.write(stream.subarray(0, at));
      await new Promise((r) => setTimeout(r, 2));
      stand.connections[cut]!.write(stream.subarray(at));
      await until(() => got().length === stream.length);
      expect(got(), `cut at ${cut}`).toEqual(stream);
      expect(journaled.at(-1)).toBe(xids[1]);
      cage.destroy();
    }
    expect(journaled).toHaveLength(121);
  }, 60_000);

  it('takes a record of exactly the bound, fragments counted together, and ends the connection at one byte over before any of it goes on', async () => {
    const stand = await standInProxy({ answer: false });
    const { socket, refusals } = await guardBefore(stand, { maxRecordBytes: 64 });
    const exact = Buffer.concat([mark(30, false), Buffer.alloc(30, 1), mark(34), Buffer.alloc(34, 2)]);
    const first = await cageConnection(socket);
    first.cage.write(exact);
    await until(() => stand.received[0]?.length === exact.length);
    expect(refusals).toEqual([]);
    const over = Buffer.concat([mark(30, false), Buffer.alloc(30, 1), mark(35), Buffer.alloc(35, 2)]);
    const second = await cageConnection(socket);
    second.cage.write(over);
    await second.closed;
    // Said by the relay's report, which may come a moment after the close.
    await until(() => refusals.length > 0);
    expect(refusals).toEqual(['oversize']);
    // The first fragment went on (within the bound when it came); nothing of the one that broke it.
    await new Promise((r) => setTimeout(r, 50));
    expect(stand.received[1]?.length ?? 0).toBeLessThanOrEqual(34);
  });

  it('ends a connection announcing 2 GiB in a mark split over writes, at the mark; the proxy gets nothing after it', async () => {
    const stand = await standInProxy({ answer: false });
    const { socket, refusals } = await guardBefore(stand);
    const huge = await cageConnection(socket);
    huge.cage.write(Buffer.from([0xff, 0xff]));
    await new Promise((r) => setTimeout(r, 10));
    huge.cage.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await huge.closed;
    await until(() => refusals.length > 0);
    expect(refusals).toEqual(['oversize']);
    // At most the mark's first half (passed on before the rest of it came, as by the Node guard), never a byte after it.
    expect((stand.received[0] ?? Buffer.alloc(0)).length).toBeLessThanOrEqual(2);
    // The guard still serves.
    const next = await cageConnection(socket);
    next.cage.write(call(3, 1));
    await until(() => stand.received.length === 2 && stand.received[1]!.length > 0);
  });

  it('keeps many connections apart, each getting its own replies', async () => {
    const stand = await standInProxy();
    const { socket } = await guardBefore(stand, { maxConnections: 8 });
    const cages = await Promise.all(Array.from({ length: 8 }, () => cageConnection(socket)));
    const expected = cages.map((_, k) => Array.from({ length: 40 }, (_, n) => reply(k * 1000 + n, 0, Buffer.from('answer-3'.padEnd(16)))));
    // Each cage as a client: the next call once the last was answered (more awaiting their replies end the connection, cardRecordRelayPairing.attack.test.ts).
    await Promise.all(
      cages.map(async ({ cage, got }, k) => {
        for (let n = 0; n < 40; n++) {
          cage.write(call(k * 1000 + n, 3));
          await until(() => got().length === Buffer.concat(expected[k]!.slice(0, n + 1)).length);
        }
      }),
    );
    cages.forEach(({ got }, k) => expect(got()).toEqual(Buffer.concat(expected[k]!)));
  });

  it('refuses a connection over the limit, and takes one again once another closed', async () => {
    const stand = await standInProxy();
    const { socket, refusals } = await guardBefore(stand, { maxConnections: 2 });
    const held = await Promise.all(Array.from({ length: 4 }, () => cageConnection(socket)));
    await until(() => stand.received.length === 2 && refusals.length === 2);
    expect(refusals).toEqual(['too-many-connections', 'too-many-connections']);
    held[0]!.cage.destroy();
    await until(() => stand.connections[0]!.destroyed || stand.connections[0]!.readableEnded);
    const again = await cageConnection(socket);
    again.cage.write(call(9, 1));
    await until(() => again.got().length > 0);
  });

  it("ends the proxy's connection when the cage closes mid-record, and serves the next one", async () => {
    const stand = await standInProxy();
    const { socket } = await guardBefore(stand);
    const { cage } = await cageConnection(socket);
    cage.write(call(1, 1).subarray(0, 20));
    await until(() => stand.received.length === 1 && stand.received[0]!.length === 20);
    const proxyEnd = new Promise<void>((r) => stand.connections[0]!.once('close', () => r()));
    cage.destroy();
    await proxyEnd;
    const next = await cageConnection(socket);
    next.cage.write(call(2, 1));
    await until(() => next.got().length > 0);
  });

  it("journals a refusal with the supervisor's question asked while the cage waits, its answer never the cage's", async () => {
    const stand = await standInProxy();
    const seen: string[] = [];
    const answers: (Buffer | null)[] = [];
    const { socket } = await guardBefore(stand, {
      watch: (ask) => ({
        call: (head) => seen.push(`call ${head.readUInt32BE(20)}`),
        reply: (head) => {
          seen.push(`reply ${head.readUInt32BE(28)}`);
          if (head.readUInt32BE(28) === CKR_OBJECT_HANDLE_INVALID) void ask(call(0xc1050001, GET_ATTRIBUTE_VALUE)).then((a) => answers.push(a));
        },
      }),
    });
    const { cage, got } = await cageConnection(socket);
    // A signature refused: held until the journal asked; then a call of the cage's own.
    cage.write(call(11, SIGN_INIT));
    await until(() => got().length > 0);
    expect(got()).toEqual(reply(11, CKR_OBJECT_HANDLE_INVALID));
    cage.write(call(12, 1));
    await until(() => got().length > reply(11, 0).length);
    expect(got()).toEqual(Buffer.concat([reply(11, CKR_OBJECT_HANDLE_INVALID), reply(12, 0, Buffer.from('answer-1'.padEnd(16)))]));
    await until(() => answers.length === 1);
    expect(answers[0]).toEqual(reply(0xc1050001, 0, Buffer.from(`answer-${GET_ATTRIBUTE_VALUE}`.padEnd(16))).subarray(4));
    expect(seen).toEqual([`call ${SIGN_INIT}`, `reply ${CKR_OBJECT_HANDLE_INVALID}`]);
    // The proxy got the cage's call, the question, the cage's next call: in that order.
    const records = new WholeRecords().feed(stand.received[0]!);
    expect(records.map((r) => r.readUInt32BE(0))).toEqual([11, 0xc1050001, 12]);
  });

  it('asks nothing while a call of the cage awaits its reply (the answer would be taken for the cage\'s)', async () => {
    const stand = await standInProxy({ answer: false });
    let ask: ((record: Buffer) => Promise<Buffer | null>) | null = null;
    const { socket } = await guardBefore(stand, { watch: (a) => ((ask = a), { call: () => undefined, reply: () => undefined }) });
    const { cage } = await cageConnection(socket);
    cage.write(call(21, 1));
    await until(() => stand.received[0]?.length === call(21, 1).length);
    expect(await ask!(call(0xc1050002, GET_ATTRIBUTE_VALUE))).toBeNull();
    // Half a record sent: not between records either.
    stand.connections[0]!.write(reply(21, 0));
    cage.write(call(22, 1).subarray(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    expect(await ask!(call(0xc1050003, GET_ATTRIBUTE_VALUE))).toBeNull();
    expect(new WholeRecords().feed(stand.received[0]!).map((r) => r.readUInt32BE(0))).toEqual([21]);
  });

  it('stops reading a cage that floods a proxy which does not read: what the cage sends stays with the cage', async () => {
    const dir = testRoot('cloison-relay-');
    const held: Socket[] = [];
    const stuck = createServer((socket) => void (socket.pause(), held.push(socket)));
    await new Promise<void>((r) => stuck.listen(join(dir, 'proxy.sock'), r));
    cleanups.push(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => stuck.close(() => r()));
    });
    const guard = new RecordGuard({ listen: join(dir, 'cage.sock'), target: join(dir, 'proxy.sock'), refused: () => undefined, relay: { program: PROGRAM } });
    await guard.start();
    cleanups.push(() => guard.stop());
    const { cage } = await cageConnection(join(dir, 'cage.sock'));
    const record = Buffer.concat([mark(1020), Buffer.alloc(1020, 7)]);
    let sent = 0;
    const push = () => {
      while (sent < 256 * 2 ** 20 && cage.write(record)) sent += record.length;
    };
    cage.on('drain', push);
    push();
    await new Promise((r) => setTimeout(r, 3000));
    expect(sent).toBeLessThan(16 * 2 ** 20);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${relayPids()[0]}/status`, 'utf8'))![1]);
    expect(rssKb).toBeLessThan(8 * 1024);
  });

  it('relays in Node when the program cannot be run (not executable), every connection served', async () => {
    const stand = await standInProxy();
    const notRunnable = join(stand.dir, 'cardRecordRelay');
    writeFileSync(notRunnable, '#!/bin/sh\n', { mode: 0o644 });
    const { socket } = await guardBefore(stand, { relay: { program: notRunnable } });
    for (let k = 0; k < 3; k++) {
      const { cage, got } = await cageConnection(socket);
      cage.write(call(k, 1));
      await until(() => got().length > 0);
      expect(got()).toEqual(reply(k, 0, Buffer.from('answer-1'.padEnd(16))));
    }
  });

  it('ends every connection when the relay program dies, and starts it again for the next', async () => {
    const stand = await standInProxy();
    const { socket } = await guardBefore(stand);
    const first = await cageConnection(socket);
    first.cage.write(call(1, 1));
    await until(() => first.got().length > 0);
    const [pid] = relayPids();
    process.kill(Number(pid), 'SIGKILL');
    await first.closed;
    // The connection right after may come before the death is seen: relayed in Node then.
    const next = await cageConnection(socket);
    next.cage.write(call(2, 1));
    await until(() => next.got().length > 0);
    const later = await cageConnection(socket);
    later.cage.write(call(3, 1));
    await until(() => later.got().length > 0);
    expect(relayPids()).toHaveLength(1);
    expect(relayPids()).not.toContain(pid);
  });
});

describe('which relay program the supervisor runs', () => {
  it("runs the build's, and none someone other than root could have written or swapped", () => {
    const dir = testRoot('cloison-relay-check-');
    chmodSync(dir, 0o755);
    expect(checkRelayProgram(PROGRAM).ok).toBe(true);
    const copy = join(dir, 'relay');
    copyFileSync(PROGRAM, copy);
    chmodSync(copy, 0o755);
    expect(checkRelayProgram(copy).ok).toBe(true);
    chmodSync(copy, 0o757);
    expect(checkRelayProgram(copy)).toMatchObject({ ok: false, missing: false });
    chmodSync(copy, 0o755);
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    copyFileSync(PROGRAM, join(open, 'relay'));
    expect(checkRelayProgram(join(open, 'relay'))).toMatchObject({ ok: false, missing: false });
    // A link is judged by where it leads: to the open folder's copy, refused.
    symlinkSync(join(open, 'relay'), join(dir, 'link'));
    expect(checkRelayProgram(join(dir, 'link'))).toMatchObject({ ok: false, missing: false });
    expect(checkRelayProgram(join(dir, 'none'))).toMatchObject({ ok: false, missing: true });
  });
});
