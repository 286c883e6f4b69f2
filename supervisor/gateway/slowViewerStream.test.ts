/**
 * What a viewer that reads slowly gets from a cage through the gateway: every byte the cage sent,
 * in order, none changed. The gateway reads the cage into a ring it reuses (readRing.ts): a chunk
 * still queued for the viewer's socket must never be read over by the cage's next bytes. The
 * cage is a real Unix socket server sending random bytes in writes of every size; the
 * viewer a real WebSocket client that stops reading now and then, so chunks queue in the gateway.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FocusState } from './focusState';
import { TicketRegistry } from './ticketRegistry';
import { VncGateway } from './vncGateway';

const STREAM_BYTES = 48 * 2 ** 20;

const PATTERN = randomBytes(8 * 2 ** 20 + 300 * 1024);

/** The bytes the cage sends: random slices of a random pattern, in pieces of 1 B to 300 KiB. */
function* cageChunks(): Generator<Buffer> {
  let sent = 0;
  let n = 0;
  const sizes = [1, 7, 1500, 16 * 1024, 65 * 1024, 128 * 1024, 300 * 1024];
  while (sent < STREAM_BYTES) {
    const size = Math.min(sizes[n % sizes.length] ?? 1, STREAM_BYTES - sent);
    const at = (n * 104_729) % (8 * 2 ** 20);
    sent += size;
    n++;
    yield PATTERN.subarray(at, at + size);
  }
}

describe('a slow viewer gets the cage stream intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-slowviewer-'));
  const socket = join(dir, 'vnc.sock');
  let cage: NetServer;
  let sentDigest = '';
  let server: Server;
  let gateway: VncGateway;
  const tickets = new TicketRegistry();
  const focus = new FocusState(['low'], 'low');

  beforeAll(async () => {
    cage = createNetServer((conn) => {
      const hash = createHash('sha256');
      const chunks = cageChunks();
      const pump = () => {
        for (let c = chunks.next(); !c.done; c = chunks.next()) {
          hash.update(c.value);
          if (!conn.write(c.value)) return void conn.once('drain', pump);
        }
        sentDigest = hash.digest('hex');
        conn.end();
      };
      pump();
    });
    await new Promise<void>((r) => cage.listen(socket, r));
    gateway = new VncGateway({ tickets, focus, endpointOf: () => ({ path: socket }), viewerBudget: null, highWaterMark: 2 * 2 ** 20 });
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, sock, head) => gateway.handleUpgrade(req, sock, head));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    gateway?.close();
    server?.close();
    await new Promise((r) => cage?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('receives every byte the cage sent, in order, though it stops reading again and again', async () => {
    const ticket = tickets.issue('low', 'test-session');
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/vnc?level=low&ticket=${ticket}`);
    const hash = createHash('sha256');
    let received = 0;
    let nextStall = 2 ** 20;
    ws.on('message', (d: Buffer) => {
      hash.update(d);
      received += d.length;
      if (received < nextStall) return;
      // Stop reading a moment: the gateway's writes to this viewer queue behind it.
      nextStall += 4 * 2 ** 20;
      ws.pause();
      setTimeout(() => ws.resume(), 100);
    });
    const closed = await new Promise<number>((resolve, reject) => (ws.on('close', resolve), ws.on('error', reject)));
    expect(closed).toBe(1000);
    expect(received).toBe(STREAM_BYTES);
    expect(hash.digest('hex')).toBe(sentDigest);
  }, 120_000);
});
