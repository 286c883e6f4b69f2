/** A test's viewer on the gateway: a WebSocket and a reader of exactly n of the cage's bytes. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';

export interface ViewerSocket {
  ws: WebSocket;
  /** The next n bytes from the cage (fails after 5 s without them). */
  read: (n: number) => Promise<Buffer>;
  /** The close code, once closed. */
  closed: Promise<number>;
  /** Bytes received and not read yet. */
  buffered: () => number;
}

/** Opens `url`; rejects with `HTTP <status>` when the gateway refuses the upgrade. */
export function openViewerSocket(url: string): Promise<ViewerSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let buf = Buffer.alloc(0);
    const waiters: Array<() => void> = [];
    ws.on('message', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      waiters.splice(0).forEach((w) => w());
    });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    const read = (n: number) =>
      new Promise<Buffer>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`timed out waiting for ${n} bytes`)), 5000);
        const check = () => {
          if (buf.length >= n) {
            clearTimeout(timer);
            const out = buf.subarray(0, n);
            buf = buf.subarray(n);
            res(out);
          } else waiters.push(check);
        };
        check();
      });
    ws.on('open', () => resolve({ ws, read, closed, buffered: () => buf.length }));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

/** The gateway served on a port of 127.0.0.1 (anything but its upgrade answered 404), as the browser part serves it. */
export async function serveGateway(gateway: { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void }): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, sock, head) => gateway.handleUpgrade(req, sock, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}
