/**
 * A synthetic VNC endpoint for proxy benchmarks (not a cage, and not standing in for one: the
 * same benchmark also runs against a real Xvnc). After an RFB 3.8 handshake it either streams a
 * given number of bytes to the viewer (throughput) or answers each 6-byte PointerEvent with 6
 * bytes (round-trip latency).
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

export type SourceMode = { kind: 'stream'; bytes: number; chunk: number } | { kind: 'echo' };

export async function startSyntheticSource(socketPath: string, mode: SourceMode): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.write('RFB 003.008\n');
    let handshake = 0;
    let pending = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      if (handshake < 14) {
        const take = Math.min(14 - handshake, d.length);
        handshake += take;
        if (handshake >= 12 && handshake - take < 12) sock.write(Buffer.from([1, 1])); // version → security types
        if (handshake >= 13 && handshake - take < 13) sock.write(Buffer.from([0, 0, 0, 0])); // SecurityResult
        if (handshake === 14) {
          const init = Buffer.alloc(24);
          init.writeUInt16BE(1024, 0);
          init.writeUInt16BE(768, 2);
          init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 4);
          sock.write(init);
          if (mode.kind === 'stream') stream(mode.bytes, mode.chunk);
        }
        d = d.subarray(take);
      }
      if (mode.kind !== 'echo' || d.length === 0) return;
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 6) {
        sock.write(pending.subarray(0, 6));
        pending = pending.subarray(6);
      }
    });
    function stream(total: number, chunkSize: number) {
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
  });
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
  return server;
}
