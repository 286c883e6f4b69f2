/**
 * What a viewer gets of a cage that writes each rectangle on its own, as TigerVNC 1.12's Xvnc does
 * on a unix socket: each framebuffer update as one WebSocket message, whatever the writes; anything
 * else as it comes; an update the cage never finishes all the same, a moment later; and every byte,
 * in order, none changed. The cage is a real unix socket server, the viewer a real WebSocket client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FocusState } from './focusState';
import { serverInit } from './rfbServerHandshake';
import { TicketRegistry } from './ticketRegistry';
import { VncGateway } from './vncGateway';

const u16 = (n: number) => [n >> 8, n & 0xff];
const handshake = Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1]), Buffer.alloc(4), serverInit(640, 480, 'low')]);

/** An update of `rects` Tight rectangles: fills and full-colour ones of random compressed lengths. */
function update(rects: number): Buffer[] {
  const parts = [Buffer.from([0, 0, ...u16(rects)])];
  for (let i = 0; i < rects; i++) {
    const header = Buffer.from([...u16(0), ...u16(i), ...u16(64), ...u16(16), 0, 0, 0, 7]);
    if (i % 2) parts.push(Buffer.concat([header, Buffer.from([0x80, 1, 2, 3])]));
    else {
      const length = 1 + ((i * 7919) % 2000);
      parts.push(Buffer.concat([header, Buffer.from([0x00, 0x80 | (length & 0x7f), length >> 7]), randomBytes(length)]));
    }
  }
  return parts;
}

const pause = (ms: number) => new Promise((r) => (ms ? setTimeout(r, ms) : setImmediate(r)));

describe('the gateway forwards a framebuffer update as one message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-updatehold-'));
  const socket = join(dir, 'vnc.sock');
  let cage: NetServer;
  let server: Server;
  let gateway: VncGateway;
  /** A loaded machine may take longer than a display frame to run the fake cage's writes: the hold's end is the last test's. */
  let slowGateway: VncGateway;
  const tickets = new TicketRegistry();
  const focus = new FocusState(['low'], 'low');
  /** What the cage does with the next connection. */
  let script: (conn: Socket) => Promise<void> = async () => undefined;

  beforeAll(async () => {
    cage = createNetServer((conn) => {
      conn.setNoDelay?.(true);
      void script(conn).catch(() => conn.destroy());
    });
    await new Promise<void>((r) => cage.listen(socket, r));
    gateway = new VncGateway({ tickets, focus, endpointOf: () => ({ path: socket }), viewerBudget: null });
    slowGateway = new VncGateway({ tickets, focus, endpointOf: () => ({ path: socket }), viewerBudget: null, updateHoldMs: 2000 });
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req, sock, head) => (req.url?.includes('slow=1') ? slowGateway : gateway).handleUpgrade(req, sock, head));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    gateway?.close();
    slowGateway?.close();
    server?.close();
    await new Promise((r) => cage?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A viewer: every message it gets, with when it got it. */
  function viewer(slow = false): { messages: Array<{ bytes: Buffer; at: number }>; done: Promise<void>; ws: WebSocket } {
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/vnc?level=low&ticket=${tickets.issue('low', 's')}${slow ? '&slow=1' : ''}`);
    const messages: Array<{ bytes: Buffer; at: number }> = [];
    ws.on('message', (d: Buffer) => messages.push({ bytes: d, at: performance.now() }));
    const done = new Promise<void>((r) => ws.on('close', () => r()));
    return { messages, done, ws };
  }

  it('sends an update written a rectangle at a time as one message, and a bell after it at once', async () => {
    const parts = update(40);
    let bellAt = 0;
    script = async (conn) => {
      conn.write(handshake);
      await pause(20);
      for (const part of parts) {
        conn.write(part);
        await pause(parts.indexOf(part) % 20 === 10 ? 1 : 0); // encoding the rectangles takes a while
      }
      await pause(20);
      bellAt = performance.now();
      conn.write(Buffer.from([2]));
      await pause(30);
      conn.end();
    };
    const v = viewer(true);
    await v.done;
    expect(Buffer.concat(v.messages.map((m) => m.bytes))).toEqual(Buffer.concat([handshake, ...parts, Buffer.from([2])]));
    const whole = Buffer.concat(parts);
    expect(v.messages.some((m) => m.bytes.equals(whole))).toBe(true);
    const bell = v.messages.at(-1)!;
    expect([...bell.bytes]).toEqual([2]);
    expect(bell.at - bellAt).toBeLessThan(8); // not held: no update under way
  });

  it('sends what came of an update the cage never finishes, a moment later', async () => {
    const parts = update(6);
    let sentAt = 0;
    script = async (conn) => {
      conn.write(handshake);
      await pause(20);
      sentAt = performance.now();
      conn.write(Buffer.concat(parts.slice(0, 3)));
      await pause(200);
      conn.end();
    };
    const v = viewer();
    await v.done;
    const half = Buffer.concat(parts.slice(0, 3));
    const got = v.messages.find((m) => m.bytes.equals(half));
    expect(got).toBeDefined();
    expect(got!.at - sentAt).toBeLessThan(150); // the hold's end (16 ms), with room for a loaded machine
  });

  it('sends an update that ends in a read at once, though the next one begins in it', async () => {
    const [first, second] = [Buffer.concat(update(5)), Buffer.concat(update(7))];
    let sentAt = 0;
    script = async (conn) => {
      conn.write(handshake);
      await pause(20);
      sentAt = performance.now();
      conn.write(Buffer.concat([first, second.subarray(0, 100)]));
      await pause(300);
      conn.write(second.subarray(100));
      await pause(20);
      conn.end();
    };
    const v = viewer(true);
    await v.done;
    const got = v.messages.find((m) => m.bytes.equals(first));
    expect(got).toBeDefined();
    expect(got!.at - sentAt).toBeLessThan(150); // not held for the next one (300 ms later)
    expect(v.messages.at(-1)!.bytes).toEqual(second);
  });

  it('sends a handshake written unasked with its first update, as the connection opens, at once and whole (handshake-12)', async () => {
    // The server does not wait for the viewer: all of it is in the socket before the gateway reads.
    // The gateway is not where such a viewer stuck (noVNC was: renderer/viewer/earlyBytes.ts); this keeps it so.
    const first = Buffer.concat(update(3));
    script = async (conn) => {
      conn.write(Buffer.concat([handshake, first]));
      await pause(300);
      conn.end();
    };
    // The slow gateway holds an unfinished update 2 s, and what it holds when the cage closes (300 ms) is dropped: all of it came, so none was held.
    const v = viewer(true);
    await v.done;
    expect(Buffer.concat(v.messages.map((m) => m.bytes))).toEqual(Buffer.concat([handshake, first]));
    expect(v.messages[0]!.bytes.subarray(0, handshake.length)).toEqual(handshake);
  });

  it('passes every byte of hundreds of updates, in order, whatever the writes', async () => {
    const stream = Buffer.concat([handshake, ...Array.from({ length: 300 }, (_, i) => Buffer.concat(update(1 + (i % 50))))]);
    const digest = createHash('sha256').update(stream).digest('hex');
    script = async (conn) => {
      for (let at = 0, n = 0; at < stream.length; n++) {
        const size = [1, 13, 700, 5000, 70_000, 3][n % 6]!;
        if (!conn.write(stream.subarray(at, at + size))) await new Promise((r) => conn.once('drain', r));
        at += size;
        if (n % 5 === 0) await pause(n % 10 === 0 ? 1 : 0);
      }
      conn.end();
    };
    const v = viewer();
    await v.done;
    expect(createHash('sha256').update(Buffer.concat(v.messages.map((m) => m.bytes))).digest('hex')).toBe(digest);
    expect(v.messages.length).toBeLessThan(2 * 300); // one per update, a few more where a 256 KiB hold or the hold's end split one
  });
});
