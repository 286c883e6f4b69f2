/**
 * Test helper run in a part's place: a compromised part that tries to freeze the root part by
 * handing it a descriptor whose close blocks. It says it is ready, connects a TCP socket to a
 * listener that never reads (127.0.0.1, in a process of its own), sets SO_LINGER {1, INT_MAX} on it, fills it
 * until data stays unsent, then sends it as SCM_RIGHTS on its fd 3 (or 2) and closes its own copy: the
 * in-flight message then holds the last reference. Whoever reads that message without taking the
 * descriptor has the kernel close it in its own thread, and the close waits for the unsent data —
 * here until the listener's process resets the connection `releaseMs` after it came (with
 * INT_MAX, otherwise never). The listener is a process of its own so that the release comes
 * whoever is blocked: the root part, or the part itself should its own close be the last.
 *
 * What it did is written to `record` (JSON), once done: whether the descriptor could be sent, when,
 * how long its own close took, which attempt that was; `${record}.${attempt}.released` when that
 * attempt's listener let go.
 */
import koffi from 'koffi';
import { spawn } from 'node:child_process';
import { writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { sendDescriptor } from '../sandbox/descriptorPassing';
import { encodeFrame } from '../sandbox/frames';
import { PART_STREAM_FD } from '../sandbox/partChannel';

const SOL_SOCKET = 1;
const SO_LINGER = 13;
const INT_MAX = 2 ** 31 - 1;

export interface LingerRecord {
  /** 'sent', or the error sending it gave (ENOTSOCK on a pipe). */
  onStream: string;
  /** Bytes the part's socket held unsent (Node's queue, beyond the kernel's full buffers). */
  unsent: number;
  sentAt: number;
  /** How long closing its own copy took (long: its copy was the last, the part blocked itself). */
  ownCloseMs?: number;
  attempt?: number;
}

/** A listener that accepts, never reads, and exits `releaseMs` after its first connection. */
const LISTENER = `const { createServer } = require('node:net'); const { writeFileSync } = require('node:fs');
const [record, releaseMs] = process.argv.slice(1);
const server = createServer({ pauseOnConnect: true }, () => setTimeout(() => { writeFileSync(record + '.released', String(Date.now())); process.exit(0); }, Number(releaseMs)));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

/** `on`: the descriptor it attaches the socket to, its fd 3 (the channel) or its fd 2 (stderr). */
export async function attackWithLingeringSocket(record: string, ready: object, releaseMs: number, on = PART_STREAM_FD, tries = 4): Promise<void> {
  writeSync(PART_STREAM_FD, encodeFrame(ready));
  const setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, _In_ int *, int)') as unknown as (fd: number, level: number, name: number, value: Int32Array, length: number) => number;
  for (let attempt = 1; ; attempt++) {
    const result = await lingeringSocketSent(`${record}.${attempt}`, releaseMs, on, setsockopt);
    // Its own close blocked: the root part had read the message first, the part held the last
    // reference and blocked itself. A race the attacker may run again.
    if (result.onStream !== 'sent' || result.ownCloseMs! < releaseMs / 2 || attempt === tries) {
      writeFileSync(record, JSON.stringify({ ...result, attempt }));
      break;
    }
  }
  setInterval(() => undefined, 60_000);
}

async function lingeringSocketSent(mark: string, releaseMs: number, on: number, setsockopt: (fd: number, level: number, name: number, value: Int32Array, length: number) => number): Promise<LingerRecord> {
  const listener = spawn(process.execPath, ['-e', LISTENER, mark, String(releaseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) => listener.stdout.once('data', (b: Buffer) => r(Number(b.toString()))));
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, new Int32Array([1, INT_MAX]), 8) !== 0) throw new Error('setsockopt SO_LINGER failed');
  // More than both kernel buffers hold: the rest stays in Node's queue, the kernel's send queue full.
  const chunk = Buffer.alloc(1 << 20, 0x6c);
  for (let i = 0; i < 48; i++) socket.write(chunk);
  await new Promise((r) => setTimeout(r, 500));
  const result: LingerRecord = { onStream: 'sent', unsent: socket.writableLength, sentAt: Date.now() };
  const closing = Date.now();
  try {
    sendDescriptor(on, fd);
  } catch (err) {
    result.onStream = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  // Its own copy closed at once (a plain close, one reference of two): the message in flight,
  // not yet read by the root part, holds the last.
  socket.destroy();
  result.ownCloseMs = Date.now() - closing;
  return result;
}
