/**
 * The guard's spare proxy connection (spareUpstream.ts), against a stand-in proxy that answers
 * every call with its connection's number and the call's procedure: a cage opening with the three
 * calls every client sends gets a connection already past them, used by that cage only; a cage
 * opening otherwise gets a fresh connection that sees its calls as sent, and exactly one reply each.
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { RecordGuard, WholeRecords } from './recordGuard';
import { markedWithXid, openingCalls } from './spareUpstream';

const OPENING = openingCalls('cloison')!;

/** A call's body (xid 0) of `procedure` with no arguments. */
const call = (procedure: number) => {
  const body = Buffer.alloc(40);
  [0, 0, 2, 4, 3, procedure, 0, 0, 0, 0].forEach((word, i) => body.writeUInt32BE(word, i * 4));
  return body;
};

/** The stand-in proxy: per connection, the procedures it was called with; replies carry (connection, procedure). */
function standIn(path: string): { server: Server; calls: number[][] } {
  const calls: number[][] = [];
  const server = createServer((socket: Socket) => {
    const seen: number[] = [];
    const id = calls.push(seen) - 1;
    const records = new WholeRecords();
    socket.on('data', (chunk: Buffer) => {
      for (const body of records.feed(chunk)) {
        const procedure = body.readUInt32BE(20);
        seen.push(procedure);
        const reply = Buffer.alloc(40);
        [body.readUInt32BE(0), 1, 0, 0, 0, 0, 0, 0, id, procedure].forEach((word, i) => reply.writeUInt32BE(word, i * 4));
        socket.write(markedWithXid(reply, body.readUInt32BE(0)));
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(path);
  return { server, calls };
}

/** A cage client: sends each call in turn (xids 100, 101, ...), waiting for its reply; the replies' (xid, connection, procedure). */
async function client(path: string, bodies: Buffer[]): Promise<Array<[number, number, number]>> {
  const socket = createConnection(path);
  const records = new WholeRecords();
  const got: Array<[number, number, number]> = [];
  let waiting: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const reply of records.feed(chunk)) got.push([reply.readUInt32BE(0), reply.readUInt32BE(32), reply.readUInt32BE(36)]);
    waiting?.();
  });
  for (const [i, body] of bodies.entries()) {
    const want = i + 1;
    await new Promise<void>((resolve) => {
      waiting = () => got.length >= want && resolve();
      socket.write(markedWithXid(body, 100 + i));
    });
  }
  await new Promise((r) => setTimeout(r, 100)); // a reply too many would come now
  socket.destroy();
  return got;
}

describe('the guard\'s spare proxy connection', () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  const setUp = async () => {
    const dir = testRoot('cloison-spare-');
    const target = join(dir, 'proxy.sock');
    const { server, calls } = standIn(target);
    const guard = new RecordGuard({ listen: join(dir, 'guard.sock'), target, refused: () => undefined, openingCalls: OPENING });
    await guard.start();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => new Promise<void>((r) => server.close(() => r())), () => guard.stop());
    await waitFor(() => calls.length === 1 && calls[0]!.length === 3, 'the first spare primed', 5000);
    return { listen: join(dir, 'guard.sock'), calls };
  };

  it('a client\'s usual opening is answered from the spare; each spare serves one connection and the next is primed', async () => {
    const { listen, calls } = await setUp();
    const first = await client(listen, [...OPENING, call(5)]);
    // The opening's replies are the spare's (connection 0), under the client's own xids; the next call goes on there.
    expect(first).toEqual([[100, 0, 2], [101, 0, 70], [102, 0, 3], [103, 0, 5]]);
    await waitFor(() => calls.length === 2 && calls[1]!.length === 3, 'the next spare primed', 5000);
    const second = await client(listen, [...OPENING, call(6)]);
    expect(second).toEqual([[100, 1, 2], [101, 1, 70], [102, 1, 3], [103, 1, 6]]);
    // Every proxy connection saw the opening once, then one client's calls only.
    await waitFor(() => calls.length === 3, 'a third spare', 5000);
    expect(calls).toEqual([[2, 70, 3, 5], [2, 70, 3, 6], [2, 70, 3]]);
  });

  it('an opening that differs gets a fresh connection: its calls as sent, one reply each, the spare closed unused by anyone else', async () => {
    const { listen, calls } = await setUp();
    // The second call is not the usual C_LoadModule: the first was answered from the spare already.
    const got = await client(listen, [OPENING[0]!, call(70), call(5)]);
    expect(got.map(([xid]) => xid)).toEqual([100, 101, 102]);
    expect(got[0]).toEqual([100, 0, 2]);
    // A fresh connection was given the answered C_SetupArch again (its reply kept from the client), then the client's calls.
    const fresh = got[1]![1];
    expect(got.slice(1)).toEqual([[101, fresh, 70], [102, fresh, 5]]);
    expect(calls[fresh]).toEqual([2, 70, 5]);
    expect(calls[0]).toEqual([2, 70, 3]); // the spare: nothing of the client's reached it
    // A first record that is no opening call at all: a fresh connection, nothing answered for it.
    const other = await client(listen, [call(5)]);
    expect(other).toHaveLength(1);
    expect(calls[other[0]![1]]).toEqual([5]);
  });
});
