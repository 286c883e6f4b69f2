/**
 * A synthetic VNC endpoint for proxy benchmarks (not a cage, and not standing in for one: the
 * same benchmark also runs against a real Xvnc). After an RFB 3.8 handshake it either streams a
 * given number of bytes to the viewer (throughput) or sends back every byte it gets, so a 6-byte
 * PointerEvent comes back as 6 bytes (round-trip latency).
 */
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { acceptRfbViewer, serverInit } from '../../supervisor/gateway/rfbServerHandshake';

export type SourceMode = { kind: 'stream'; bytes: number; chunk: number } | { kind: 'echo' };

export async function startSyntheticSource(socketPath: string, mode: SourceMode): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => {});
    if (mode.kind === 'echo') acceptRfbViewer(sock, serverInit(1024, 768), { data: (bytes) => sock.write(bytes) });
    else acceptRfbViewer(sock, serverInit(1024, 768), { ready: () => stream(sock, mode.bytes, mode.chunk) });
  });
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
  return server;
}

function stream(sock: Socket, total: number, chunkSize: number): void {
  const chunk = Buffer.alloc(chunkSize, 0x5a);
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(chunkSize, left);
      left -= n;
      if (!sock.write(n === chunkSize ? chunk : chunk.subarray(0, n))) return sock.once('drain', pump);
    }
  };
  pump();
}
