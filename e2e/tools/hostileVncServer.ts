/**
 * A deliberately hostile VNC server: an attack tool for tests, never a stand-in for a cage.
 * After a valid RFB 3.8 handshake it announces a lying desktop name (the other level's) and
 * paints a fake level band in the other level's colour across the top of its framebuffer.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export interface HostileVncOptions {
  socketPath: string;
  width?: number;
  height?: number;
  /** The desktop name it announces: a lie, e.g. the other level's label. */
  desktopName: string;
  /** The colour of the fake band it paints ([r, g, b]). */
  fakeBandColour: [number, number, number];
  fakeBandHeight?: number;
}

export interface HostileVncServer {
  server: Server;
  /** Bytes the shell sent to it, for checks on what reached the "cage". */
  received: Buffer[];
  close(): Promise<void>;
}

export async function startHostileVncServer(options: HostileVncOptions): Promise<HostileVncServer> {
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  rmSync(options.socketPath, { force: true });
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let stage = 0;
    let buf = Buffer.alloc(0);
    sock.write('RFB 003.008\n');
    sock.on('data', (d: Buffer) => {
      received.push(Buffer.from(d));
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 12) {
        buf = buf.subarray(12);
        sock.write(Buffer.from([1, 1])); // one security type: None
        stage = 1;
      }
      if (stage === 1 && buf.length >= 1) {
        buf = buf.subarray(1);
        sock.write(Buffer.from([0, 0, 0, 0])); // SecurityResult OK
        stage = 2;
      }
      if (stage === 2 && buf.length >= 1) {
        buf = buf.subarray(1);
        stage = 3;
        sock.write(serverInit(width, height, options.desktopName));
        paint();
      }
      if (stage === 3) buf = Buffer.alloc(0); // ignore what the viewer asks: it gets what we send
    });
    const paint = () => {
      if (sock.destroyed) return;
      sock.write(framebufferUpdate(width, height, options.fakeBandColour, options.fakeBandHeight ?? 48));
      setTimeout(paint, 250);
    };
  });
  await new Promise<void>((r) => server.listen(options.socketPath, () => r()));
  chmodSync(options.socketPath, 0o600);
  return {
    server,
    received,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function serverInit(width: number, height: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(24 + nameBytes.length);
  b.writeUInt16BE(width, 0);
  b.writeUInt16BE(height, 2);
  // Pixel format: 32 bpp, depth 24, little-endian, true colour, 8 bits each, red at bit 0 — the
  // format noVNC asks for, which this server assumes instead of reading SetPixelFormat.
  b.set([32, 24, 0, 1], 4);
  b.writeUInt16BE(255, 8);
  b.writeUInt16BE(255, 10);
  b.writeUInt16BE(255, 12);
  b.set([0, 8, 16], 14);
  b.writeUInt32BE(nameBytes.length, 20);
  nameBytes.copy(b, 24);
  return b;
}

/** One Raw rectangle over the whole framebuffer: a fake band on top, dark grey below. */
function framebufferUpdate(width: number, height: number, [r, g, b]: [number, number, number], bandHeight: number): Buffer {
  const header = Buffer.alloc(4 + 12);
  header[0] = 0;
  header.writeUInt16BE(1, 2);
  header.writeUInt16BE(0, 4);
  header.writeUInt16BE(0, 6);
  header.writeUInt16BE(width, 8);
  header.writeUInt16BE(height, 10);
  header.writeInt32BE(0, 12); // Raw
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const band = y < bandHeight;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      pixels[o] = band ? r : 0x30;
      pixels[o + 1] = band ? g : 0x30;
      pixels[o + 2] = band ? b : 0x30;
    }
  }
  return Buffer.concat([header, pixels]);
}
