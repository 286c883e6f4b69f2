import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { RecordGuard, RecordMarks } from './recordGuard';

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

  it("gives each record's first bytes, fragments joined, however the bytes are split, even once the chunks they came in are reused", () => {
    const body = (length: number, from: number) => Buffer.from(Array.from({ length }, (_, k) => from + k));
    const stream = Buffer.concat([mark(6), body(6, 1), mark(3, false), body(3, 20), mark(5), body(5, 30), mark(2), body(2, 40)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let cut2 = cut; cut2 <= stream.length; cut2++) {
        const heads: number[][] = [];
        const marks = new RecordMarks(10, (head) => heads.push([...head]), 4);
        for (const piece of [stream.subarray(0, cut), stream.subarray(cut, cut2), stream.subarray(cut2)]) {
          // Each chunk fed a copy, overwritten once fed: what a record keeps across chunks must be its own.
          const chunk = Buffer.from(piece);
          expect(marks.feed(chunk)).toBe(true);
          chunk.fill(0xee);
        }
        expect(heads, `cut at ${cut} and ${cut2}`).toEqual([[1, 2, 3, 4], [20, 21, 22, 30], [40, 41]]);
      }
    }
  });

  it('starts counting again after a last fragment', () => {
    const marks = new RecordMarks(10);
    for (let i = 0; i < 5; i++) expect(marks.feed(Buffer.concat([mark(10), Buffer.alloc(10)]))).toBe(true);
  });
});

describe('the guard in whole-record mode (pin: trusted), against a cage that never reads its replies', () => {
  it('stops reading the cage once the proxy stops reading the guard: what the cage sends stays with the cage', async () => {
    const dir = testRoot('cloison-guard-');
    // The proxy, stuck: it takes the connection and never reads (as pkcs11proxyd does once the
    // guard stops reading its replies to a cage that reads none).
    const held: Socket[] = [];
    const stuck = createServer((socket) => void (socket.pause(), held.push(socket)));
    await new Promise<void>((r) => stuck.listen(join(dir, 'proxy.sock'), r));
    let forwarded = 0;
    const guard = new RecordGuard({
      listen: join(dir, 'cage.sock'),
      target: join(dir, 'proxy.sock'),
      refused: () => undefined,
      wholeRecords: () => ({
        call: async (body) => ((forwarded += body.length), { forward: Buffer.concat([mark(body.length), body]) }),
        reply: (body) => body,
      }),
    });
    await guard.start();
    // The cage: small well-formed records as fast as the socket takes them, never a read.
    const cage = createConnection(join(dir, 'cage.sock'));
    await new Promise<void>((r) => cage.once('connect', () => r()));
    const record = Buffer.concat([mark(1020), Buffer.alloc(1020, 7)]);
    const sent = { bytes: 0 };
    const push = () => {
      while (sent.bytes < 256 * 2 ** 20 && cage.write(record)) sent.bytes += record.length;
    };
    cage.on('drain', push);
    push();
    await new Promise((r) => setTimeout(r, 3000));
    // Before: the guard read and forwarded all 256 MiB into its own socket buffer (the cage never
    // blocked). Now it forwards what the kernel's buffers hold and the cage's writes wait.
    expect(forwarded).toBeLessThan(16 * 2 ** 20);
    expect(sent.bytes).toBeLessThan(256 * 2 ** 20);
    cage.destroy();
    await guard.stop();
    for (const socket of held) socket.destroy();
    await new Promise<void>((r) => stuck.close(() => r()));
  });
});
