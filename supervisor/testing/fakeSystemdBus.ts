/**
 * Test tool: a stand-in for systemd's manager (org.freedesktop.systemd1) on a test's private system
 * bus, so the real systemd-logind there carries a sleep through: asked to Suspend, logind checks
 * suspend.target is loaded (answered "loaded"), announces PrepareForSleep(true) itself, waits for the
 * delay inhibitors, then asks for suspend.target (answered with a job that starts nothing: this
 * machine never sleeps); `resume()` says the job ended, and logind announces PrepareForSleep(false).
 * So the test's sleeps come from logind, the one sender the lock before sleep believes.
 *
 * It speaks the D-Bus wire protocol with its own few lines (little-endian, the types it needs).
 */
import { connect, type Socket } from 'node:net';

type Value = [sig: 's' | 'o' | 'g' | 'u' | 'y', value: string | number];

class Writer {
  private bytes: number[] = [];
  constructor(private readonly base = 0) {}
  get length(): number {
    return this.bytes.length;
  }
  align(n: number): void {
    while ((this.base + this.bytes.length) % n) this.bytes.push(0);
  }
  byte(v: number): void {
    this.bytes.push(v & 0xff);
  }
  u32(v: number): void {
    this.align(4);
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  string(s: string): void {
    const b = Buffer.from(s);
    this.u32(b.length);
    this.bytes.push(...b, 0);
  }
  sig(s: string): void {
    this.byte(s.length);
    this.bytes.push(...Buffer.from(s), 0);
  }
  value([sig, v]: Value): void {
    if (sig === 's' || sig === 'o') this.string(String(v));
    else if (sig === 'g') this.sig(String(v));
    else if (sig === 'y') this.byte(Number(v));
    else this.u32(Number(v));
  }
  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** One message: type 1 call, 2 return, 3 error, 4 signal; header fields by code; the body's values and its signature. */
function message(type: number, serial: number, fields: Array<[number, Value]>, body: Array<Value | ['v', Value]> = []): Buffer {
  const b = new Writer(0);
  let sig = '';
  for (const v of body) {
    if (v[0] === 'v') {
      sig += 'v';
      b.sig(v[1][0]);
      b.value(v[1]);
    } else {
      sig += v[0];
      b.value(v as Value);
    }
  }
  if (sig) fields.push([8, ['g', sig]]);
  const h = new Writer(0);
  h.byte('l'.charCodeAt(0));
  h.byte(type);
  h.byte(0);
  h.byte(1);
  h.u32(b.length);
  h.u32(serial);
  const f = new Writer(16);
  for (const [code, value] of fields) {
    f.align(8);
    f.byte(code);
    f.sig(value[0]);
    f.value(value);
  }
  h.u32(f.length);
  const head = Buffer.concat([h.buffer(), f.buffer()]);
  const pad = Buffer.alloc((8 - (head.length % 8)) % 8);
  return Buffer.concat([head, pad, b.buffer()]);
}

interface Incoming {
  type: number;
  flags: number;
  serial: number;
  fields: Map<number, string | number>;
}

/** Parses the messages whole in `buf`; returns them and what is left. */
function parse(buf: Buffer): { messages: Incoming[]; rest: Buffer } {
  const messages: Incoming[] = [];
  for (;;) {
    if (buf.length < 16) break;
    const bodyLen = buf.readUInt32LE(4);
    const fieldsLen = buf.readUInt32LE(12);
    const bodyAt = 16 + fieldsLen + ((8 - ((16 + fieldsLen) % 8)) % 8);
    if (buf.length < bodyAt + bodyLen) break;
    const fields = new Map<number, string | number>();
    let at = 16;
    const align = (n: number) => (at += (n - (at % n)) % n);
    while (at < 16 + fieldsLen) {
      align(8);
      const code = buf[at++]!;
      const sigLen = buf[at++]!;
      const sig = buf.subarray(at, at + sigLen).toString();
      at += sigLen + 1;
      if (sig === 's' || sig === 'o') {
        align(4);
        const n = buf.readUInt32LE(at);
        fields.set(code, buf.subarray(at + 4, at + 4 + n).toString());
        at += 4 + n + 1;
      } else if (sig === 'g') {
        const n = buf[at]!;
        fields.set(code, buf.subarray(at + 1, at + 1 + n).toString());
        at += n + 2;
      } else {
        align(4);
        fields.set(code, buf.readUInt32LE(at));
        at += 4;
      }
    }
    messages.push({ type: buf[1]!, flags: buf[2]!, serial: buf.readUInt32LE(8), fields });
    buf = buf.subarray(bodyAt + bodyLen);
  }
  return { messages, rest: buf };
}

const DBUS: Array<[number, Value]> = [
  [1, ['o', '/org/freedesktop/DBus']],
  [2, ['s', 'org.freedesktop.DBus']],
  [6, ['s', 'org.freedesktop.DBus']],
];
const JOB = '/org/freedesktop/systemd1/job/1';

export interface FakeSystemd {
  /** The suspend job ended: logind announces the resume. */
  resume(): void;
  stop(): void;
}

/** Connects to the bus at a `unix:path=` address as this process's uid and owns org.freedesktop.systemd1. */
export function startFakeSystemd(address: string): Promise<FakeSystemd> {
  const path = address.replace(/^unix:path=/, '');
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(path);
    let serial = 0;
    let authed = false;
    let buf: Buffer = Buffer.alloc(0);
    let owned = false;
    const send = (type: number, fields: Array<[number, Value]>, body: Array<Value | ['v', Value]> = []) => socket.write(message(type, ++serial, fields, body));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString('hex')}\r\n`));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!authed) {
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith('OK ')) return reject(new Error(`the bus refused us: ${buf.subarray(0, end).toString()}`));
        buf = buf.subarray(end + 2);
        authed = true;
        socket.write('BEGIN\r\n');
        send(1, [...DBUS, [3, ['s', 'Hello']]]);
        send(1, [...DBUS, [3, ['s', 'RequestName']]], [['s', 'org.freedesktop.systemd1'], ['u', 4]]);
      }
      const { messages, rest } = parse(buf);
      buf = rest;
      for (const m of messages) {
        // RequestName's answer (serial 2): owned; then the fake may answer logind.
        if (m.type === 2 && m.fields.get(5) === 2 && !owned) {
          owned = true;
          resolve({
            resume: () => send(4, [[1, ['o', '/org/freedesktop/systemd1']], [2, ['s', 'org.freedesktop.systemd1.Manager']], [3, ['s', 'JobRemoved']]], [['u', 1], ['o', JOB], ['s', 'suspend.target'], ['s', 'done']]),
            stop: () => socket.destroy(),
          });
        }
        if (m.type !== 1 || m.flags & 1) continue;
        const to: Array<[number, Value]> = [[5, ['u', m.serial]], [6, ['s', String(m.fields.get(7))]]];
        const member = m.fields.get(3);
        if (member === 'Get') send(2, to, [['v', ['s', 'loaded']]]);
        else if (member === 'StartUnit') send(2, to, [['o', JOB]]);
        else send(3, [...to, [4, ['s', 'org.freedesktop.DBus.Error.UnknownMethod']]]);
      }
    });
  });
}
