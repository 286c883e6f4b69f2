/**
 * The channel between the root part and an unprivileged part (the browser part, the sound part),
 * with no Node IPC under it: Node's `'ipc'` channel parses what the child writes itself (JSON
 * lines of any length) and acts on its own NODE_HANDLE messages, so a compromised part could crash
 * the root part, grow its memory without bound, or hand it descriptors.
 *
 * - The part's fd 3 (PART_STREAM_FD): the write end of a pipe, part → root, length-prefixed JSON
 *   frames (frames.ts). The root part reads them with a bound (maxIncomingBytes): a frame announced
 *   larger, empty or not JSON is the part's misbehaviour (it is then killed and started again,
 *   partProcess.ts). A pipe, not a Unix socket: a descriptor a part attached to its bytes on a
 *   socket would be dropped by the root part's plain read, but closed by the kernel in the root
 *   part's thread — and the close of a TCP socket lingering on unsent data (SO_LINGER) blocks that
 *   thread for as long as the part likes. A pipe carries no descriptor at all.
 * - The part's fd 4 (PART_DESCRIPTOR_FD): a socketpair of its own, for descriptors from the root
 *   part only (descriptorPassing.ts, MSG_DONTWAIT: a part that stops reading fails, the root part
 *   never waits). The root part's end is shut for reading, never read: what the part sends there fails (EPIPE).
 * - The part's fd 5 (PART_INCOMING_FD): the read end of a second pipe, root → part frames.
 *
 * Root → part frames are `{ message, descriptor }`: `descriptor: true` says one descriptor was sent
 * just before on fd 4, which the part then receives (the byte was queued before the frame).
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { encodeFrame, FrameReader } from './frames';
import { pipe, receiveDescriptor, sendDescriptor, shutdownReading, socketPair } from './descriptorPassing';

export const PART_STREAM_FD = 3;
export const PART_DESCRIPTOR_FD = 4;
export const PART_INCOMING_FD = 5;
/** What the root part sends: its own, large (an RPC answer), but bounded so the part's reader is. */
export const ROOT_FRAME_MAX_BYTES = 64 * 1024 * 1024;
/** What the root part holds unsent for a part that stops reading, before that part is failed. */
const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

interface RootFrame {
  message: unknown;
  descriptor: boolean;
}

/** The root part's ends of one part's channel. */
export interface RootEnds {
  /** The read end of the part's pipe (its fd 3). */
  fromPart: number;
  /** The write end of the pipe to the part (its fd 5). */
  toPart: number;
  /** The descriptor socketpair's end, shut for reading. */
  descriptors: number;
}

/**
 * A part's channel, made before it is spawned: `partStdio` goes after stdin, stdout and stderr in
 * spawn's stdio (its fds 3, 4 and 5), then closePartEnds() once spawned (or failed to); the root
 * part keeps `rootEnds` (RootChannelEnd), or closes them with closeRootEnds() if the spawn threw.
 */
export function partChannelDescriptors(): { rootEnds: RootEnds; partStdio: [number, number, number]; closePartEnds: () => void; closeRootEnds: () => void } {
  const made: number[] = [];
  try {
    const [fromPart, partWrites] = pipe();
    made.push(fromPart, partWrites);
    const [partReads, toPart] = pipe();
    made.push(partReads, toPart);
    const [descriptors, partDescriptors] = socketPair();
    made.push(descriptors, partDescriptors);
    shutdownReading(descriptors);
    const partStdio: [number, number, number] = [partWrites, partDescriptors, partReads];
    return {
      rootEnds: { fromPart, toPart, descriptors },
      partStdio,
      closePartEnds: () => closeAll(partStdio),
      closeRootEnds: () => closeAll([fromPart, toPart, descriptors]),
    };
  } catch (err) {
    closeAll(made);
    throw err;
  }
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

/** The root part's end of one started part. */
export class RootChannelEnd<ToPart> {
  private readonly reader: FrameReader;
  private readonly incoming: Socket;
  private readonly stream: Socket;
  private readonly descriptors: number;
  private closed = false;

  constructor(
    ends: RootEnds,
    private readonly handlers: {
      maxIncomingBytes: number;
      message: (raw: unknown) => void;
      /** The part broke the channel (framing, a descriptor not taken): it is to be stopped. */
      misbehaved: (reason: string) => void;
      /** The part closed or shut its stream (it is ending, or broke the channel): it is to be stopped; misbehaved when absent. */
      closed?: (reason: string) => void;
    },
  ) {
    this.reader = new FrameReader(handlers.maxIncomingBytes);
    this.descriptors = ends.descriptors;
    this.incoming = new Socket({ fd: ends.fromPart, readable: true, writable: false });
    this.stream = new Socket({ fd: ends.toPart, readable: false, writable: true });
    this.incoming.on('data', (chunk: Buffer) => this.read(chunk));
    // A part that closes either pipe is over: nothing more is read from it or sent to it.
    for (const pipeEnd of [this.incoming, this.stream]) {
      pipeEnd.on('end', () => this.fail('the part closed its channel', 'closed'));
      pipeEnd.on('close', () => this.fail('the part closed its channel', 'closed'));
      pipeEnd.on('error', (err) => this.fail(`its channel failed (${err.message})`, 'closed'));
    }
  }

  private read(chunk: Buffer): void {
    if (this.closed) return;
    let messages: unknown[];
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      return this.fail((err as Error).message);
    }
    for (const message of messages) if (!this.closed) this.handlers.message(message);
  }

  /**
   * Sends a message, with a descriptor when `fd` is given (the caller keeps and closes its copy).
   * False if the part could not take it: it is then failed.
   */
  send(message: ToPart, fd?: number): boolean {
    if (this.closed) return false;
    if (this.stream.writableLength > MAX_UNSENT_BYTES) {
      this.fail(`${this.stream.writableLength} bytes left unread by the part`);
      return false;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame({ message, descriptor: fd !== undefined } satisfies RootFrame, ROOT_FRAME_MAX_BYTES);
    } catch {
      return false; // the root part's own message over the bound: not sent, the part is not at fault
    }
    if (fd !== undefined) {
      if (this.stream.destroyed || !this.stream.writable) {
        this.fail('the part closed its channel', 'closed');
        return false;
      }
      try {
        sendDescriptor(this.descriptors, fd);
      } catch (err) {
        this.fail(`a descriptor not taken (${(err as Error).message})`);
        return false;
      }
    }
    this.stream.write(frame);
    return true;
  }

  private fail(reason: string, how: 'misbehaved' | 'closed' = 'misbehaved'): void {
    if (this.closed) return;
    this.close();
    (how === 'closed' ? (this.handlers.closed ?? this.handlers.misbehaved) : this.handlers.misbehaved)(reason);
  }

  /** Stops reading and closes both ends (the part's exit or its stop). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.incoming.destroy();
    this.stream.destroy();
    try {
      closeSync(this.descriptors);
    } catch {
      /* already closed */
    }
  }
}

/**
 * The part's end: its messages to the root part, and the root part's to it, each with the
 * descriptor it announced (or null). `closed` runs when the root part's end is gone.
 */
export function connectToRoot<ToRoot, FromRoot>(handlers: { message: (message: FromRoot, fd: number | null) => void; closed: () => void }): { send: (message: ToRoot) => void } {
  const stream = new Socket({ fd: PART_STREAM_FD, readable: false, writable: true });
  const incoming = new Socket({ fd: PART_INCOMING_FD, readable: true, writable: false });
  const reader = new FrameReader(ROOT_FRAME_MAX_BYTES);
  incoming.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk) as RootFrame[]) {
      const fd = frame.descriptor ? receiveDescriptor(PART_DESCRIPTOR_FD) : null;
      handlers.message(frame.message as FromRoot, fd);
    }
  });
  stream.on('error', () => undefined);
  incoming.on('error', () => undefined);
  let over = false;
  const closed = () => void (over || ((over = true), handlers.closed()));
  stream.on('close', closed);
  incoming.on('close', closed);
  return { send: (message) => void (stream.writable && stream.write(encodeFrame(message, ROOT_FRAME_MAX_BYTES))) };
}

/** A received descriptor as a stream socket that reads and writes (a Unix socket, a pipe or FIFO). */
export function socketOfDescriptor(fd: number, direction: { readable: boolean; writable: boolean }): Socket {
  return new Socket({ fd, ...direction });
}

/** A received descriptor's libuv handle, not yet read (the gateway wraps it with its own buffers). */
export function handleOfDescriptor(fd: number): object {
  const socket = new Socket({ fd, readable: true, writable: true, manualStart: true } as never);
  return (socket as unknown as { _handle: object })._handle;
}
