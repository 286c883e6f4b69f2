/**
 * A minimal RFB viewer over a WebSocket (or a direct Unix socket, for the baseline): handshake,
 * then raw bytes in and out, with a reader that waits for a byte count.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';

export interface ByteLink {
  send(b: Buffer): void;
  /** Resolves once `n` more bytes have arrived (they are then dropped). */
  receive(n: number): Promise<void>;
  received(): number;
  /** Reads exactly `n` bytes (only on links made with keep = true). */
  read(n: number): Promise<Buffer>;
  /** Resolves when the other end closes the link, with the WebSocket close code (0 for a socket). */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

function reader(keep: boolean) {
  let count = 0;
  let consumed = 0;
  let waiter: { until: number; resolve: () => void } | null = null;
  let kept: Buffer[] = [];
  let keptBytes = 0;
  let readWaiter: (() => void) | null = null;
  return {
    add(d: Buffer) {
      const n = d.length;
      if (keep) {
        kept.push(d);
        keptBytes += n;
        readWaiter?.();
      }
      count += n;
      if (waiter && count >= waiter.until) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    },
    receive(n: number): Promise<void> {
      consumed += n;
      if (count >= consumed) return Promise.resolve();
      return new Promise((resolve) => (waiter = { until: consumed, resolve }));
    },
    get count() {
      return count;
    },
    async read(n: number): Promise<Buffer> {
      while (keptBytes < n) await new Promise<void>((r) => (readWaiter = r));
      readWaiter = null;
      const all = Buffer.concat(kept);
      kept = [all.subarray(n)];
      keptBytes -= n;
      return all.subarray(0, n);
    },
  };
}

/** A viewer link; `origin` is what a page of the shell sends (the supervisor requires one). */
export async function wsLink(url: string, keep = false, origin?: string): Promise<ByteLink> {
  const ws = new WebSocket(url, ['binary'], { perMessageDeflate: false, ...(origin ? { origin } : {}) });
  const r = reader(keep);
  ws.on('message', (d: Buffer) => r.add(d));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { send: (b) => ws.send(b), receive: (n) => r.receive(n), received: () => r.count, read: (n) => r.read(n), closed, close: () => ws.terminate() };
}

export async function socketLink(path: string): Promise<ByteLink> {
  const sock = connect({ path });
  sock.setNoDelay?.(true);
  const r = reader(false);
  sock.on('data', (d: Buffer) => r.add(d));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => sock.once('close', () => resolve({ code: 0, reason: '' })));
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  return { send: (b) => sock.write(b), receive: (n) => r.receive(n), received: () => r.count, read: (n) => r.read(n), closed, close: () => sock.destroy() };
}

/** RFB 3.8 handshake with security None; resolves with the ServerInit's width and height known. */
export async function handshake(link: ByteLink, serverInitBytes = 24): Promise<void> {
  await link.receive(12);
  link.send(Buffer.from('RFB 003.008\n'));
  await link.receive(2); // one security type
  link.send(Buffer.from([1]));
  await link.receive(4);
  link.send(Buffer.from([1]));
  await link.receive(serverInitBytes);
}

/** Presses and releases the key `keysym` `count` times in a viewer that has done its handshake. */
export function pressKeys(link: ByteLink, keysym: number, count: number): void {
  for (let i = 0; i < count; i++) {
    for (const down of [1, 0]) {
      const key = Buffer.alloc(8);
      key.writeUInt8(4, 0);
      key.writeUInt8(down, 1);
      key.writeUInt32BE(keysym, 4);
      link.send(key);
    }
  }
}
