/**
 * A cage that floods its viewer: an RFB 3.8 server (security None) on a Unix socket that, once a
 * viewer is in, sends full-screen Raw updates of changing colour as fast as the socket takes them,
 * unsolicited. For the level-switch benchmark (the switch must stay within a frame while it runs)
 * and the gateway's per-viewer byte budget test.
 */
import { createServer, type Server, type Socket } from 'node:net';

export async function startFloodingVncServer(path: string, width = 1024, height = 640): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let stage = 0;
    sock.write('RFB 003.008\n');
    sock.on('data', () => {
      if (stage === 0) sock.write(Buffer.from([1, 1]));
      else if (stage === 1) sock.write(Buffer.from([0, 0, 0, 0]));
      else if (stage === 2) {
        const name = 'flood';
        const init = Buffer.alloc(24 + name.length);
        init.writeUInt16BE(width, 0);
        init.writeUInt16BE(height, 2);
        Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(init, 4);
        init.writeUInt32BE(name.length, 20);
        init.write(name, 24);
        sock.write(init);
        flood(sock, width, height);
      }
      stage++;
    });
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
