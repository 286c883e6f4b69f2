/**
 * How a cage's VNC connection reaches the unprivileged gateway with no extra hop: the root cage
 * manager connects to the cage's socket (the cage's uid's, in a root folder), checks the peer as
 * the gateway does today (uid, pid namespace), then hands the connected socket itself — its file
 * descriptor, SCM_RIGHTS on the part's descriptor socket (sandbox/partChannel.ts) — to the
 * `cloison` part, and closes its own copy. From then on pixels go Xvnc → gateway → browser, as
 * before the split: the root part holds no descriptor of the connection and sees none of its bytes.
 *
 * The manager starts the unprivileged part as its child, with the parts' channel (no Node IPC:
 * what the part writes is read with a bound, and no descriptor is ever taken from it): under
 * Cloison's syscall filter (bwrap), then through setpriv as the `cloison` user, no capability in
 * any set, the bounding set empty, no_new_privs.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { requireBinary } from '../system/binaries';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { connectToRoot, partChannelDescriptors, RootChannelEnd } from '../sandbox/partChannel';

export const HAND_OVER_MESSAGE = 'cloison.vncSocket';

export interface HandedSocket {
  type: typeof HAND_OVER_MESSAGE;
  level: string;
  /** Which connection this is, so the receiver can match it with its ticket. */
  connection: number;
}

/** Where `codeDir` appears to the part, which starts there. */
export const PART_CODE_DIR = '/opt/cloison-part';
/** What the part may send the manager in one frame. */
const MAX_PART_MESSAGE_BYTES = 64 * 1024;

export interface UnprivilegedChild {
  child: ChildProcess;
  /** The manager's end of its channel: messages to it, with a descriptor or not. */
  channel: RootChannelEnd<unknown>;
}

/**
 * Starts the unprivileged part as `uid:gid`, with the parts' channel as its fds 3, 4 and 5, under
 * Cloison's syscall filter: bwrap installs it (and nothing else of a sandbox: the host's whole
 * filesystem and network, no namespace but the mount one bwrap always makes), then setpriv drops
 * to the user with no capability in any set and no_new_privs. `message` gets what it sends, as
 * untrusted; a part that breaks the channel is killed.
 *
 * `codeDir`: the folder of the part's code, bound read-only at PART_CODE_DIR and started in — its
 * own place may be one the part's user cannot reach (a checkout in a folder of root's, 0700).
 */
export function spawnUnprivilegedPart(
  who: { uid: number; gid: number },
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdio?: 'inherit' | 'pipe'; codeDir?: string; message?: (raw: unknown) => void } = {},
): UnprivilegedChild {
  const drop = [requireBinary('setpriv'), `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
  const io = options.stdio ?? 'inherit';
  const code = options.codeDir ? ['--ro-bind', options.codeDir, PART_CODE_DIR, '--chdir', PART_CODE_DIR] : [];
  const ends = partChannelDescriptors();
  let child: ChildProcess;
  try {
    // fds 3, 4 and 5 are the channel (PART_STREAM_FD, PART_DESCRIPTOR_FD, PART_INCOMING_FD), kept open through bwrap and setpriv.
    child = spawnBwrap(['--bind', '/', '/', '--dev-bind', '/dev', '/dev', '--bind', '/proc', '/proc', ...code, '--die-with-parent', '--', ...drop, ...argv], {
      stdio: ['ignore', io, io, ...ends.partStdio],
      env: options.env ?? {},
    });
  } catch (err) {
    ends.closeRootEnds();
    throw err;
  } finally {
    ends.closePartEnds();
  }
  const channel = new RootChannelEnd<unknown>(ends.rootEnds, {
    maxIncomingBytes: MAX_PART_MESSAGE_BYTES,
    message: options.message ?? (() => undefined),
    misbehaved: () => child.kill('SIGKILL'),
  });
  child.once('exit', () => channel.close());
  return { child, channel };
}

/**
 * Hands a connected socket to the child; the manager's own descriptor is closed once it is sent.
 * The socket must have been paused from its 'connect' on: bytes Node had already read here would
 * never reach the child (a lost RFB greeting), so a socket holding any is refused.
 */
export function handOverSocket(channel: RootChannelEnd<unknown>, message: HandedSocket, socket: Socket): Promise<void> {
  if (socket.readableLength > 0 || socket.bytesRead > 0) return Promise.reject(new Error('the socket was read on the manager\'s side: its bytes would be lost'));
  const fd = (socket as unknown as { _handle: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return Promise.reject(new Error('the socket has no descriptor'));
  if (!channel.send(message, fd)) return Promise.reject(new Error('the unprivileged part did not take the socket'));
  socket.destroy();
  return Promise.resolve();
}

let toManager: { send: (message: unknown) => void; sockets: Set<(message: HandedSocket, socket: Socket) => void> } | null = null;

/**
 * On the unprivileged side: its end of the channel (once per process), to send the manager (or a
 * test) messages; the manager gone, the part ends.
 */
export function managerChannel(): { send: (message: unknown) => void; onHandedSocket: (listener: (message: HandedSocket, socket: Socket) => void) => void } {
  if (!toManager) {
    const sockets = new Set<(message: HandedSocket, socket: Socket) => void>();
    const { send } = connectToRoot<unknown, Partial<HandedSocket> | null>({
      message: (m, fd) => {
        if (fd === null) return;
        if (m?.type !== HAND_OVER_MESSAGE || typeof m.level !== 'string' || typeof m.connection !== 'number') return closeSync(fd);
        const socket = new Socket({ fd, readable: true, writable: true });
        for (const listener of sockets) listener(m as HandedSocket, socket);
      },
      closed: () => process.exit(0),
    });
    toManager = { send, sockets };
  }
  const { send, sockets } = toManager;
  return { send, onHandedSocket: (listener) => void sockets.add(listener) };
}

/** On the unprivileged side: each socket the manager hands over, with its message. */
export function onHandedSocket(listener: (message: HandedSocket, socket: Socket) => void): void {
  managerChannel().onHandedSocket(listener);
}

/**
 * On the unprivileged side: handed sockets by connection number, whichever arrives first — the
 * socket on the part's channel or the manager's answer naming it. One not taken in time is closed.
 */
export class HandedSockets {
  private readonly arrived = new Map<number, Socket>();
  private readonly waiting = new Map<number, (socket: Socket) => void>();

  constructor(private readonly unclaimedMs = 10_000) {
    onHandedSocket((message, socket) => {
      const waiter = this.waiting.get(message.connection);
      if (waiter) {
        this.waiting.delete(message.connection);
        return waiter(socket);
      }
      this.arrived.set(message.connection, socket);
      setTimeout(() => {
        if (this.arrived.get(message.connection) === socket) {
          this.arrived.delete(message.connection);
          socket.destroy();
        }
      }, this.unclaimedMs).unref();
    });
  }

  take(connection: number, timeoutMs = 5000): Promise<Socket> {
    const ready = this.arrived.get(connection);
    if (ready) {
      this.arrived.delete(connection);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(connection);
        reject(new Error(`connection ${connection} was not handed over within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(connection, (socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  }
}
