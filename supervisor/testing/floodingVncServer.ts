/**
 * A cage that floods its viewer: an RFB 3.8 server (security None) on a Unix socket that, once a
 * viewer is in, sends full-screen Raw updates of changing colour as fast as the socket takes them,
 * unsolicited. For the level-switch benchmark (the switch must stay within a frame while it runs)
 * and the gateway's per-viewer byte budget test.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { acceptRfbViewer, serverInit } from '../gateway/rfbServerHandshake';

export async function startFloodingVncServer(path: string, width = 1024, height = 640): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    acceptRfbViewer(sock, serverInit(width, height, 'flood'), { ready: () => flood(sock, width, height) });
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
  return {
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Whole updates made once and sent in turn: the load is the viewer's, not this generator's. */
function flood(sock: Socket, width: number, height: number): void {
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
      if (!sock.write(frames[i++ % frames.length]!)) return void sock.once('drain', next);
    }
  };
  next();
}
