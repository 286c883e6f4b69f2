/**
 * A cage that floods its viewer: an RFB 3.8 server (security None) on a Unix socket that, once a
 * viewer is in, sends full-screen Raw updates of changing colour as fast as the socket takes them,
 * unsolicited. For the level-switch benchmark (the switch must stay within a frame while it runs)
 * and the gateway's per-viewer byte budget test.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { acceptRfbViewer, serverInit } from '../gateway/rfbServerHandshake';

export interface FloodingVncServer {
  /** Bytes of updates its sockets have taken so far (what the viewers' side has read, plus what the pipe holds). */
  sent(): number;
  close(): Promise<void>;
}

export async function startFloodingVncServer(path: string, width = 1024, height = 640): Promise<FloodingVncServer> {
  const sockets = new Set<Socket>();
  let sent = 0;
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    acceptRfbViewer(sock, serverInit(width, height, 'flood'), { ready: () => flood(sock, width, height, (n) => (sent += n)) });
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    sent: () => sent,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Whole updates made once and sent in turn: the load is the viewer's, not this generator's. */
function flood(sock: Socket, width: number, height: number, onSent: (bytes: number) => void): void {
  const frames = [0x20, 0x60, 0xa0, 0xe0].map((shade) => {
    const update = Buffer.alloc(4 + 12 + width * height * 4, shade);
    update.fill(0, 0, 16);
    update.writeUInt16BE(1, 2); // one rectangle
    update.writeUInt16BE(width, 4 + 4);
    update.writeUInt16BE(height, 4 + 6);
    update.writeInt32BE(0, 4 + 8); // Raw
    return update;
  });
  let i = 0;
  const next = () => {
    while (!sock.destroyed) {
      const frame = frames[i++ % frames.length]!;
      onSent(frame.length);
      if (!sock.write(frame)) return void sock.once('drain', next);
    }
  };
  next();
}
