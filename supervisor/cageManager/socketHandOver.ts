/**
 * How a cage's VNC connection reaches the unprivileged gateway with no extra hop: the root cage
 * manager connects to the cage's socket (the cage's uid's, in a root folder), checks the peer as
 * the gateway does today (uid, pid namespace), then hands the connected socket itself — its file
 * descriptor, SCM_RIGHTS underneath Node's IPC channel — to the `cloison` part, and closes its own
 * copy. From then on pixels go Xvnc → gateway → browser, as before the split: the root part holds
 * no descriptor of the connection and sees none of its bytes.
 *
 * Node passes descriptors only over a child's IPC channel, so the manager starts the unprivileged
 * part as its child: under Cloison's syscall filter (bwrap), then through setpriv as the `cloison`
 * user, no capability in any set, the bounding set empty, no_new_privs.
 */
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { requireBinary } from '../system/binaries';
import { spawnBwrap } from '../sandbox/bwrapSpawn';

export const HAND_OVER_MESSAGE = 'cloison.vncSocket';

export interface HandedSocket {
  type: typeof HAND_OVER_MESSAGE;
  level: string;
  /** Which connection this is, so the receiver can match it with its ticket. */
  connection: number;
}

/**
 * Starts the unprivileged part as `uid:gid`, with an IPC channel for handed sockets, under
 * Cloison's syscall filter: bwrap installs it (and nothing else of a sandbox: the host's whole
 * filesystem and network, no namespace but the mount one bwrap always makes), then setpriv drops
 * to the user with no capability in any set and no_new_privs.
 */
/** Where `codeDir` appears to the part, which starts there. */
export const PART_CODE_DIR = '/opt/cloison-part';

/**
 * `codeDir`: the folder of the part's code, bound read-only at PART_CODE_DIR and started in — its
 * own place may be one the part's user cannot reach (a checkout in a folder of root's, 0700).
 */
export function spawnUnprivilegedPart(who: { uid: number; gid: number }, argv: string[], options: { env?: NodeJS.ProcessEnv; stdio?: 'inherit' | 'pipe'; codeDir?: string } = {}): ChildProcess {
  const drop = [requireBinary('setpriv'), `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
  const io = options.stdio ?? 'inherit';
  const code = options.codeDir ? ['--ro-bind', options.codeDir, PART_CODE_DIR, '--chdir', PART_CODE_DIR] : [];
  // fd 3 is the IPC channel (NODE_CHANNEL_FD=3), kept open through bwrap and setpriv.
  return spawnBwrap(['--bind', '/', '/', '--dev-bind', '/dev', '/dev', '--bind', '/proc', '/proc', ...code, '--die-with-parent', '--', ...drop, ...argv], {
    stdio: ['ignore', io, io, 'ipc'],
    env: options.env ?? {},
  });
}

/**
 * Hands a connected socket to the child; the manager's own descriptor is closed once it is sent.
 * The socket must have been paused from its 'connect' on: bytes Node had already read here would
 * never reach the child (a lost RFB greeting), so a socket holding any is refused.
 */
export function handOverSocket(child: ChildProcess, message: HandedSocket, socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error('the unprivileged part has no IPC channel'));
    if (socket.readableLength > 0 || socket.bytesRead > 0) return reject(new Error('the socket was read on the manager\'s side: its bytes would be lost'));
    child.send(message, socket, { keepOpen: false }, (err) => (err ? reject(err) : resolve()));
  });
}

/** On the unprivileged side: each socket the manager hands over, with its message. */
export function onHandedSocket(listener: (message: HandedSocket, socket: Socket) => void): void {
  process.on('message', (message: unknown, handle: unknown) => {
    const m = message as Partial<HandedSocket> | null;
    if (m?.type !== HAND_OVER_MESSAGE || typeof m.level !== 'string' || typeof m.connection !== 'number' || !handle) return;
    listener(m as HandedSocket, handle as Socket);
  });
}

/**
 * On the unprivileged side: handed sockets by connection number, whichever arrives first — the
 * socket over the IPC channel or the manager's answer naming it. One not taken in time is closed.
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
