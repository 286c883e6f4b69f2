/**
 * The guard's proxy connection made ahead of the cage's (spareProxyConnection.ts), against a
 * stand-in proxy: made before any cage comes, the cage's first call goes on it; the next made once
 * that connection ended; one the proxy closed meanwhile is not handed to a cage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordGuard } from './recordGuard';
import { waitFor } from '../testing/waitFor';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A proxy that echoes each chunk back and remembers its connections. */
async function standIn(dir: string): Promise<{ server: Server; connections: Socket[]; spoke: Socket[] }> {
  const connections: Socket[] = [];
  const spoke: Socket[] = [];
  const server = createServer((socket) => {
    connections.push(socket);
    socket.on('data', (chunk: Buffer) => {
      if (!spoke.includes(socket)) spoke.push(socket);
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(join(dir, 'proxy.sock'), r));
  cleanups.push(() => new Promise<void>((r) => (connections.forEach((s) => s.destroy()), server.close(() => r()))));
  return { server, connections, spoke };
}

/** A stand-in proxy and a guard before it, connecting ahead or not. */
async function guardBefore(connectAhead: boolean): Promise<{ dir: string; proxy: Awaited<ReturnType<typeof standIn>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-spare-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const proxy = await standIn(dir);
  const guard = new RecordGuard({ listen: join(dir, 'cage.sock'), target: join(dir, 'proxy.sock'), connectAhead, refused: () => {} });
  await guard.start();
  cleanups.push(() => guard.stop());
  return { dir, proxy };
}

const record = (n: number) => Buffer.concat([Buffer.from([0x80, 0, 0, 4]), Buffer.from([0, 0, 0, n])]);

async function cageCall(socket: string, n: number): Promise<{ cage: Socket; answer: Buffer }> {
  const cage = createConnection(socket);
  cage.on('error', () => undefined);
  cleanups.push(() => void cage.destroy());
  const answer = await new Promise<Buffer>((resolve) => {
    cage.once('data', resolve);
    cage.write(record(n));
  });
  return { cage, answer };
}

describe("the guard's proxy connection made ahead", () => {
  it('is made before any cage comes, carries the first cage\'s call, and the next is made once that connection ended', async () => {
    const { dir, proxy } = await guardBefore(true);
    await waitFor(() => proxy.connections.length === 1, 'the connection made ahead', 3000);
    const first = await cageCall(join(dir, 'cage.sock'), 1);
    expect(first.answer).toEqual(record(1));
    // The call went on the connection made ahead: no second connection was needed for it.
    expect(proxy.spoke).toEqual([proxy.connections[0]]);
    first.cage.destroy();
    await waitFor(() => proxy.connections.length === 2, 'the next made once the first connection ended', 3000);
    const second = await cageCall(join(dir, 'cage.sock'), 2);
    expect(second.answer).toEqual(record(2));
    expect(proxy.spoke).toEqual([proxy.connections[0], proxy.connections[1]]);
  });

  it('one the proxy closed meanwhile is not handed to a cage: its call goes on a fresh connection', async () => {
    const { dir, proxy } = await guardBefore(true);
    await waitFor(() => proxy.connections.length === 1, 'the connection made ahead', 3000);
    proxy.connections[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const call = await cageCall(join(dir, 'cage.sock'), 3);
    expect(call.answer).toEqual(record(3));
    expect(proxy.spoke).toEqual([proxy.connections[1]]);
  });

  it('without it, nothing is connected before a cage comes', async () => {
    const { dir, proxy } = await guardBefore(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(proxy.connections).toHaveLength(0);
    expect((await cageCall(join(dir, 'cage.sock'), 4)).answer).toEqual(record(4));
  });
});
