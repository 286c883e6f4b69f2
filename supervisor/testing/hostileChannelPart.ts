/**
 * Test helper run in a part's place (BrowserPart's or SoundPart's `partScript`, through a small
 * wrapper naming its state folder): a compromised part attacking the channel itself, below the
 * messages' schemas — what Node's IPC channel parsed and acted on. Each start takes the next
 * attack (a counter in the state folder); says it is ready first, as the part would, then:
 *
 * 0. a line that is not JSON;
 * 1. Node's internal NODE_HANDLE_ACK with nothing queued;
 * 2. Node's internal NODE_HANDLE with a type Node does not know;
 * 3. 200 MB with no newline;
 * 4. a descriptor of a socket it made (SCM_RIGHTS), on the descriptor socket, then on its stream
 *    (a pipe: ENOTSOCK), then the byte it would have travelled with and the rest of a frame's header.
 *
 * Once they are spent it runs the real part (`realPart`), which must start as if nothing happened.
 * What it did is written down in the state folder (attacks.json): for 4, the socket's inode and
 * what sending it on the descriptor socket gave.
 */
import { readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { sendDescriptor } from '../sandbox/descriptorPassing';
import { encodeFrame } from '../sandbox/frames';
import { PART_DESCRIPTOR_FD, PART_STREAM_FD } from '../sandbox/partChannel';

export const CHANNEL_ATTACKS = ['not JSON', 'NODE_HANDLE_ACK with nothing queued', 'NODE_HANDLE of an unknown type', '200 MB with no newline', 'a descriptor of its own'] as const;

export interface AttackRecord {
  attack: string;
  pid: number;
  /** For the descriptor: its socket's inode, and what sending it on the descriptor socket gave. */
  socketInode?: string;
  onDescriptorSocket?: string;
  onStream?: string;
}

/** Writes everything, waiting out a full socket; stops at any other error (the root part closed it). */
function writeAll(bytes: Buffer): number {
  let written = 0;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (written < bytes.length) {
    try {
      written += writeSync(PART_STREAM_FD, bytes, written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return written;
      Atomics.wait(nap, 0, 0, 2);
    }
  }
  return written;
}

export async function attackChannel(stateDir: string, ready: object, realPart: string): Promise<void> {
  const counter = join(stateDir, 'count');
  let n = 0;
  try {
    n = Number(readFileSync(counter, 'utf8'));
  } catch {
    /* first start */
  }
  writeFileSync(counter, String(n + 1));
  if (n >= CHANNEL_ATTACKS.length) {
    await import(realPart);
    return;
  }
  const record: AttackRecord = { attack: CHANNEL_ATTACKS[n]!, pid: process.pid };
  const log = () => {
    let all: AttackRecord[] = [];
    try {
      all = JSON.parse(readFileSync(join(stateDir, 'attacks.json'), 'utf8')) as AttackRecord[];
    } catch {
      /* first */
    }
    writeFileSync(join(stateDir, 'attacks.json'), JSON.stringify([...all, record]));
  };
  writeAll(encodeFrame(ready));
  await new Promise((r) => setTimeout(r, 300));
  // Written down before each attack: the root part may stop it at its first bytes.
  switch (n) {
    case 0:
      log();
      writeAll(Buffer.from('this is not json\n'));
      break;
    case 1:
      log();
      writeAll(Buffer.from(`${JSON.stringify({ cmd: 'NODE_HANDLE_ACK' })}\n`));
      break;
    case 2:
      log();
      writeAll(Buffer.from(`${JSON.stringify({ cmd: 'NODE_HANDLE', type: 'bogus', msg: { type: 'x' } })}\n`));
      break;
    case 3: {
      log();
      const chunk = Buffer.alloc(1 << 20, 0x61);
      writeAll(Buffer.from('{"type":"'));
      for (let i = 0; i < 200; i++) if (writeAll(chunk) < chunk.length) break;
      return;
    }
    case 4: {
      const path = join(stateDir, `own-${process.pid}.sock`);
      const server = createServer(() => undefined);
      await new Promise<void>((r) => server.listen(path, r));
      const socket = connect(path);
      await new Promise((r) => socket.once('connect', r));
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      record.socketInode = readlinkSync(`/proc/self/fd/${fd}`);
      try {
        sendDescriptor(PART_DESCRIPTOR_FD, fd);
        record.onDescriptorSocket = 'sent';
      } catch (err) {
        record.onDescriptorSocket = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      try {
        sendDescriptor(PART_STREAM_FD, fd);
        record.onStream = 'sent';
      } catch (err) {
        record.onStream = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        writeAll(Buffer.from([0x46])); // the byte it would have travelled with
      }
      log();
      writeAll(Buffer.from([0, 0, 0])); // what completes a frame header
      setInterval(() => undefined, 60_000);
      return;
    }
  }
  setInterval(() => undefined, 60_000);
}
