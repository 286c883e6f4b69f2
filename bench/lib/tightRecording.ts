/**
 * Records what a Tight viewer inflates while Firefox scrolls a long page: a bare Xvnc (this
 * process's user, its own display and port, no cage), Firefox ESR on the scroll benchmark's page,
 * xdotool's wheel, and a minimal RFB client asking what the shell's viewer asks (Tight without a
 * JPEG quality, noVNC's compression level 2, CopyRect, 32-bit true colour) and writing down, for
 * every compressed Tight rectangle, its stream, the streams its control byte resets, the bytes it
 * inflates to and its zlib data. The inflate micro-benchmark (inflate.bench.ts) replays it.
 *
 * Format: records of [update u32][resets u8][stream u8][expected u32][length u32][data], little endian.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TightRecord {
  update: number;
  resets: number;
  stream: number;
  expected: number;
  data: Uint8Array;
}

const TIGHT = 7;
const COPY_RECT = 1;
const COMPRESS_LEVEL_2 = -254;
const LAST_RECT = -224;

/** Reads exact byte counts from a socket, in order. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: { n: number; resolve: (b: Buffer) => void } | null = null;
  constructor(sock: Socket) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.have += b.length;
      this.wake();
    });
  }
  private wake(): void {
    if (!this.waiting || this.have < this.waiting.n) return;
    const { n, resolve } = this.waiting;
    this.waiting = null;
    const all = Buffer.concat(this.chunks);
    this.chunks = [all.subarray(n)];
    this.have -= n;
    resolve(all.subarray(0, n));
  }
  read(n: number): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting = { n, resolve };
      this.wake();
    });
  }
}

async function compactLength(r: Reader): Promise<number> {
  let b = (await r.read(1))[0]!;
  let len = b & 0x7f;
  if (b & 0x80) {
    b = (await r.read(1))[0]!;
    len |= (b & 0x7f) << 7;
    if (b & 0x80) len |= (await r.read(1))[0]! << 14;
  }
  return len;
}

/** Connects to an RFB server on `port` and records its Tight rectangles until `stop` resolves. */
async function recordFrom(port: number, stop: Promise<void>): Promise<TightRecord[]> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const r = new Reader(sock);
  await r.read(12);
  sock.write('RFB 003.008\n');
  const types = await r.read((await r.read(1))[0]!);
  if (!types.includes(1)) throw new Error(`the server offers no security type None (${[...types].join(',')})`);
  sock.write(Buffer.from([1]));
  if ((await r.read(4)).readUInt32BE(0) !== 0) throw new Error('security refused');
  sock.write(Buffer.from([1]));
  const init = await r.read(24);
  const [width, height] = [init.readUInt16BE(0), init.readUInt16BE(2)];
  await r.read(init.readUInt32BE(20));
  const format = Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
  sock.write(format);
  const encodings = [TIGHT, COPY_RECT, COMPRESS_LEVEL_2, LAST_RECT];
  const setEnc = Buffer.alloc(4 + 4 * encodings.length);
  setEnc.writeUInt8(2, 0);
  setEnc.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => setEnc.writeInt32BE(e, 4 + 4 * i));
  sock.write(setEnc);
  const request = (incremental: number) => {
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental, 1);
    b.writeUInt16BE(width, 6);
    b.writeUInt16BE(height, 8);
    sock.write(b);
  };
  request(0);
  const records: TightRecord[] = [];
  let update = 0;
  const loop = (async () => {
    for (;;) {
      const type = (await r.read(1))[0]!;
      if (type === 2) continue; // bell
      if (type === 3) {
        // ServerCutText: 3 bytes of padding, its length, its text.
        await r.read(3);
        await r.read((await r.read(4)).readUInt32BE(0));
        continue;
      }
      if (type !== 0) throw new Error(`server message ${type} not expected`);
      const count = (await r.read(3)).readUInt16BE(1);
      for (let i = 0; i < count; i++) {
        const h = await r.read(12);
        const [w, hgt, enc] = [h.readUInt16BE(4), h.readUInt16BE(6), h.readInt32BE(8)];
        if (enc === LAST_RECT) break;
        if (enc === COPY_RECT) {
          await r.read(4);
          continue;
        }
        if (enc !== TIGHT) throw new Error(`encoding ${enc} not asked`);
        const ctl = (await r.read(1))[0]!;
        const resets = ctl & 0x0f;
        const comp = ctl >> 4;
        // A rectangle inflating nothing may still reset streams: recorded with nothing to inflate.
        const resetOnly = () => resets && records.push({ update, resets, stream: 0, expected: 0, data: new Uint8Array(0) });
        if (comp === 0x08) {
          await r.read(3);
          resetOnly();
          continue;
        }
        if (comp & 0x08) throw new Error(`Tight compression ${comp} not expected`);
        const filter = comp & 0x04 ? (await r.read(1))[0]! : 0;
        let expected = w * hgt * 3;
        if (filter === 1) {
          const colours = (await r.read(1))[0]! + 1;
          await r.read(colours * 3);
          expected = Math.floor((w * (colours <= 2 ? 1 : 8) + 7) / 8) * hgt;
        }
        if (expected < 12) {
          await r.read(expected);
          resetOnly();
          continue;
        }
        const data = new Uint8Array(await r.read(await compactLength(r)));
        records.push({ update, resets, stream: comp & 3, expected, data });
      }
      update++;
      request(1);
    }
  })();
  loop.catch(() => undefined);
  await Promise.race([stop, loop]);
  const whole = update;
  sock.destroy();
  return records.filter((rec) => rec.update < whole);
}

export function encodeRecords(records: TightRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const rec of records) {
    const h = Buffer.alloc(14);
    h.writeUInt32LE(rec.update, 0);
    h.writeUInt8(rec.resets, 4);
    h.writeUInt8(rec.stream, 5);
    h.writeUInt32LE(rec.expected, 6);
    h.writeUInt32LE(rec.data.length, 10);
    parts.push(h, Buffer.from(rec.data));
  }
  return Buffer.concat(parts);
}

export function decodeRecords(bytes: Uint8Array): TightRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: TightRecord[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = view.getUint32(at + 10, true);
    records.push({ update: view.getUint32(at, true), resets: bytes[at + 4]!, stream: bytes[at + 5]!, expected: view.getUint32(at + 6, true), data: bytes.subarray(at + 14, at + 14 + length) });
    at += 14 + length;
  }
  return records;
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Firefox scrolling the scroll benchmark's page on a bare Xvnc for `seconds`, recorded. */
export async function recordTightScroll(page: string, seconds: number, display = 5811, geometry = '1920x1080'): Promise<TightRecord[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-inflate11-'));
  const port = 10000 + display;
  const children: ChildProcess[] = [];
  try {
    writeFileSync(join(dir, 'long.html'), page);
    mkdirSync(join(dir, 'profile'));
    const env = { ...process.env, DISPLAY: `:${display}`, HOME: dir };
    children.push(spawn('Xvnc', [`:${display}`, '-rfbport', String(port), '-localhost', '-SecurityTypes', 'None', '-geometry', geometry, '-depth', '24', '-AlwaysShared'], { stdio: 'ignore' }));
    await wait(1500);
    children.push(spawn('firefox-esr', ['--no-remote', '--profile', join(dir, 'profile'), `file://${join(dir, 'long.html')}`], { env, stdio: 'ignore' }));
    const search = spawn('xdotool', ['search', '--sync', '--onlyvisible', '--name', 'Cloison scroll', 'windowmove', '0', '0', 'windowsize', '100%', '100%'], { env, stdio: 'ignore' });
    await new Promise((r) => search.once('exit', r));
    await wait(3000);
    spawn('xdotool', ['mousemove', '400', '300'], { env, stdio: 'ignore' });
    await wait(500);
    let done!: () => void;
    const stop = new Promise<void>((r) => (done = r));
    const recording = recordFrom(port, stop);
    await wait(500);
    const wheel = spawn('sh', ['-c', 'while xdotool click --repeat 60 --delay 40 5 && xdotool key ctrl+Home; do sleep 0.2; done'], { env, stdio: 'ignore', detached: true });
    children.push(wheel);
    await wait(seconds * 1000);
    done();
    try {
      process.kill(-wheel.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    return await recording;
  } finally {
    for (const c of children.reverse()) c.kill('SIGTERM');
    await wait(1000);
    rmSync(dir, { recursive: true, force: true });
  }
}
