/**
 * A deliberately hostile VNC server: an attack tool for tests, never a stand-in for a cage.
 *
 * After a valid RFB 3.8 handshake it lies and misbehaves as its mode says:
 * - fake-band: announces the other level's name and paints a pixel-perfect band in the other
 *   level's colour across the top of its framebuffer;
 * - resize-storm: the same, then desktop sizes changing every 50 ms, enormous ones included;
 * - cursor-bell: a huge cursor image and a bell storm;
 * - garbage: bytes that are no RFB message at all;
 * - stall: a FramebufferUpdate cut off in the middle, then silence;
 * - malformed: rectangles outside the framebuffer and an unknown encoding;
 * - oversize-tight: a Tight rectangle of 4096×4096 full-colour pixels wholly off its 800×600
 *   screen, ~50 KiB that would inflate to 48 MiB (kept by the viewer's inflator), then its band;
 * - queue-flood: its band, then one update: a Tight JPEG rectangle whose bytes are no JPEG (an
 *   image that never loads: noVNC's render queue waits behind it), then whole-screen Tight
 *   2-colour palette rectangles of ~100 bytes each, each queued as a 4-byte-a-pixel copy.
 * It ignores what the viewer asks; it records what the viewer sends, for checks on what reached it.
 *
 * Some modes do not wait for the viewer at all, from the connection's first moment:
 * - unasked: its whole handshake (version, security None, SecurityResult, ServerInit) and its
 *   screen in its band's colour (one Tight fill rectangle: 16 bytes), written at once before the
 *   viewer said anything, then silence;
 * - unasked-bytewise: the same bytes, one write per byte (a millisecond apart), then silence;
 * - unasked-flood: its whole handshake at once, then its (Raw) band again and again as fast as it can;
 * - wrong-version: the same, speaking first with a version no RFB client knows ("RFB 009.000");
 * - greeting-only: its version, then nothing more, whatever the viewer answers (a server that hangs);
 * - silent: nothing at all, ever.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { deflateSync } from 'node:zlib';

export type HostileMode = 'fake-band' | 'resize-storm' | 'cursor-bell' | 'garbage' | 'stall' | 'malformed' | 'oversize-tight' | 'queue-flood' | UnaskedMode;
/** The modes that never wait for the viewer: everything is sent as the connection opens. */
export type UnaskedMode = 'unasked' | 'unasked-bytewise' | 'unasked-flood' | 'wrong-version' | 'greeting-only' | 'silent';
const UNASKED: readonly string[] = ['unasked', 'unasked-bytewise', 'unasked-flood', 'wrong-version', 'greeting-only', 'silent'] satisfies UnaskedMode[];

export interface HostileVncOptions {
  socketPath: string;
  mode?: HostileMode;
  width?: number;
  height?: number;
  /** The desktop name it announces: a lie, e.g. the other level's label. */
  desktopName: string;
  /** The colour of the fake band it paints ([r, g, b]). */
  fakeBandColour: [number, number, number];
  fakeBandHeight?: number;
  /** queue-flood: how many whole-screen palette rectangles follow the JPEG one. */
  queuedRectangles?: number;
}

export interface HostileVncServer {
  server: Server;
  /** Bytes the shell sent to it, for checks on what reached the "cage". */
  received: Buffer[];
  /** Connections it accepted (each viewer's attempt). */
  connections(): number;
  close(): Promise<void>;
}

const RECT_HEADER = 12;

export async function startHostileVncServer(options: HostileVncOptions): Promise<HostileVncServer> {
  const width = options.width ?? 800;
  const height = options.height ?? 600;
  const mode = options.mode ?? 'fake-band';
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  rmSync(options.socketPath, { force: true });
  const server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    const timers: NodeJS.Timeout[] = [];
    sock.on('close', () => {
      sockets.delete(sock);
      timers.forEach(clearInterval);
    });
    sock.on('error', () => {});
    const send = (b: Buffer) => {
      if (!sock.destroyed) sock.write(b);
    };
    const every = (ms: number, f: () => void) => timers.push(setInterval(f, ms));
    if (UNASKED.includes(mode)) {
      sock.on('data', (d: Buffer) => void received.push(Buffer.from(d)));
      return unasked(mode as UnaskedMode);
    }
    let stage = 0;
    let buf = Buffer.alloc(0);
    send(Buffer.from('RFB 003.008\n'));
    sock.on('data', (d: Buffer) => {
      received.push(Buffer.from(d));
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 12) {
        buf = buf.subarray(12);
        send(Buffer.from([1, 1])); // one security type: None
        stage = 1;
      }
      if (stage === 1 && buf.length >= 1) {
        buf = buf.subarray(1);
        send(Buffer.from([0, 0, 0, 0])); // SecurityResult OK
        stage = 2;
      }
      if (stage === 2 && buf.length >= 1) {
        buf = buf.subarray(1);
        stage = 3;
        send(serverInit(width, height, options.desktopName));
        misbehave();
      }
      if (stage === 3) buf = Buffer.alloc(0); // ignore what the viewer asks: it gets what we send
    });

    const band = () => send(update([rawRect(0, 0, width, height, options.fakeBandColour, options.fakeBandHeight ?? 48)]));
    /** A server that never waits for its viewer: see the header. */
    function unasked(how: UnaskedMode): void {
      if (how === 'silent') return;
      if (how === 'greeting-only') return send(Buffer.from('RFB 003.008\n'));
      const version = Buffer.from(how === 'wrong-version' ? 'RFB 009.000\n' : 'RFB 003.008\n');
      const handshake = Buffer.concat([version, Buffer.from([1, 1]), Buffer.alloc(4), serverInit(width, height, options.desktopName)]);
      const screen = Buffer.concat([handshake, update([tightFillRect(0, 0, width, height, options.fakeBandColour)])]);
      if (how === 'unasked-bytewise') {
        let i = 0;
        every(1, () => {
          if (i < screen.length) send(screen.subarray(i, ++i));
        });
        return;
      }
      if (how !== 'unasked-flood') return send(screen);
      send(handshake);
      const bandUpdate = update([rawRect(0, 0, width, height, options.fakeBandColour, options.fakeBandHeight ?? 48)]);
      const flood = () => {
        while (!sock.destroyed && sock.write(bandUpdate));
        if (!sock.destroyed) sock.once('drain', flood);
      };
      flood();
    }
    function misbehave() {
      switch (mode) {
        case 'fake-band':
          band();
          every(250, band);
          break;
        case 'resize-storm': {
          band();
          const sizes: Array<[number, number]> = [[1600, 200], [65535, 65535], [320, 2000], [16384, 16384], [1, 1], [8192, 8192], [width, height]];
          let i = 0;
          every(50, () => {
            const [w, h] = sizes[i++ % sizes.length]!;
            send(update([i % 2 ? desktopSizeRect(w, h) : extendedDesktopSizeRect(w, h)]));
          });
          break;
        }
        case 'cursor-bell':
          band();
          // A band-wide "cursor" whose hotspot is its bottom edge: drawn above the pointer, over the band.
          send(update([cursorRect(1280, 96, options.fakeBandColour, [640, 95])]));
          every(10, () => send(Buffer.from([2]))); // Bell
          break;
        case 'garbage':
          band();
          setTimeout(() => send(Buffer.from(Array.from({ length: 65536 }, (_, k) => (k * 131 + 7) & 0xff))), 300);
          break;
        case 'stall': {
          // A FramebufferUpdate announcing one raw rectangle, and only half of its pixels.
          const whole = update([rawRect(0, 0, width, height, options.fakeBandColour, options.fakeBandHeight ?? 48)]);
          send(whole.subarray(0, whole.length >> 1));
          break;
        }
        case 'malformed':
          band();
          send(update([rawRect(width - 10, height - 10, 400, 400, [255, 255, 0], 400)]));
          send(update([{ header: rectHeader(0, 0, 10, 10, 0x7777), body: Buffer.alloc(0) }]));
          break;
        case 'oversize-tight':
          band();
          setTimeout(() => {
            send(update([oversizeTightRect(60000, 0, 4096, 4096)]));
            every(250, band);
          }, 300);
          break;
        case 'queue-flood':
          band();
          setTimeout(() => send(queueFloodUpdate(width, height, options.queuedRectangles ?? 2000)), 300);
          break;
      }
    }
  });
  await new Promise<void>((r) => server.listen(options.socketPath, () => r()));
  chmodSync(options.socketPath, 0o600);
  return {
    server,
    received,
    connections: () => connections,
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

interface Rect {
  header: Buffer;
  body: Buffer;
}

function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Buffer {
  const b = Buffer.alloc(RECT_HEADER);
  b.writeUInt16BE(x & 0xffff, 0);
  b.writeUInt16BE(y & 0xffff, 2);
  b.writeUInt16BE(w & 0xffff, 4);
  b.writeUInt16BE(h & 0xffff, 6);
  b.writeInt32BE(encoding, 8);
  return b;
}

function update(rects: Rect[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(rects.length, 2);
  return Buffer.concat([head, ...rects.flatMap((r) => [r.header, r.body])]);
}

/** A Raw rectangle: a band of `colour` on top, dark grey below. */
function rawRect(x: number, y: number, w: number, h: number, [r, g, b]: [number, number, number], bandHeight: number): Rect {
  const pixels = Buffer.alloc(w * h * 4);
  for (let row = 0; row < h; row++) {
    const inBand = row < bandHeight;
    for (let col = 0; col < w; col++) {
      const o = (row * w + col) * 4;
      pixels[o] = inBand ? r : 0x30;
      pixels[o + 1] = inBand ? g : 0x30;
      pixels[o + 2] = inBand ? b : 0x30;
    }
  }
  return { header: rectHeader(x, y, w, h, 0), body: pixels };
}

/** A Tight fill rectangle: one colour, 3 bytes for the whole of it. */
function tightFillRect(x: number, y: number, w: number, h: number, [r, g, b]: [number, number, number]): Rect {
  return { header: rectHeader(x, y, w, h, 7), body: Buffer.from([0x80, r, g, b]) };
}

/** A Tight rectangle of black full-colour pixels: stream 0, the copy filter implied, zlib data behind its compact length. */
function oversizeTightRect(x: number, y: number, w: number, h: number): Rect {
  const data = deflateSync(Buffer.alloc(w * h * 3));
  const n = data.length;
  if (n > 0x3fffff) throw new Error('too long for a Tight compact length');
  const length = Buffer.from([0x80 | (n & 0x7f), 0x80 | ((n >> 7) & 0x7f), n >> 14]);
  return { header: rectHeader(x, y, w, h, 7), body: Buffer.concat([Buffer.from([0x00]), length, data]) };
}

function desktopSizeRect(w: number, h: number): Rect {
  return { header: rectHeader(0, 0, w, h, -223), body: Buffer.alloc(0) };
}

function extendedDesktopSizeRect(w: number, h: number): Rect {
  const body = Buffer.alloc(4 + 16);
  body[0] = 1; // one screen
  body.writeUInt16BE(w & 0xffff, 4 + 8);
  body.writeUInt16BE(h & 0xffff, 4 + 10);
  return { header: rectHeader(0, 0, w, h, -308), body };
}

/** A Cursor pseudo-rectangle: w×h opaque pixels of `colour`; the header's x, y are its hotspot. */
function cursorRect(w: number, h: number, [r, g, b]: [number, number, number], [hotX, hotY]: [number, number] = [0, 0]): Rect {
  const pixels = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) pixels.set([r, g, b, 0], i * 4);
  const mask = Buffer.alloc(Math.ceil(w / 8) * h, 0xff);
  return { header: rectHeader(hotX, hotY, w, h, -239), body: Buffer.concat([pixels, mask]) };
}

/**
 * One update: a Tight JPEG rectangle of 16×16 whose bytes are no JPEG, then `count` whole-screen
 * Tight rectangles of a 2-colour palette, each its own zlib stream (control bit 0 resets stream 0).
 */
function queueFloodUpdate(width: number, height: number, count: number): Buffer {
  const jpeg = { header: rectHeader(0, 0, 16, 16, 7), body: Buffer.from([0x90, 32, ...new Array<number>(32).fill(0xab)]) };
  const zeros = deflateSync(Buffer.alloc(Math.ceil(width / 8) * height));
  if (zeros.length > 0x3fff) throw new Error('too long for a 2-byte compact length');
  const length = zeros.length < 0x80 ? [zeros.length] : [0x80 | (zeros.length & 0x7f), zeros.length >> 7];
  const palette = { header: rectHeader(0, 0, width, height, 7), body: Buffer.from([0x41, 0x01, 0x01, 0, 0, 0, 0xff, 0xff, 0xff, ...length, ...zeros]) };
  return update([jpeg, ...new Array<Rect>(count).fill(palette)]);
}
