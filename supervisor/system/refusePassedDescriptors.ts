/**
 * A Unix socket root reads can carry descriptors (SCM_RIGHTS) whatever root asked for: read with a
 * plain read, they are dropped — closed by the kernel in root's own thread. A TCP socket with
 * SO_LINGER {1, INT_MAX} and data it cannot send makes that close wait, so any peer that may
 * connect (a cage's launcher or card client, the shell, an administrator) could stop the root
 * supervisor's event loop for as long as it likes. Linux 6.16's SO_PASSRIGHTS set to 0 makes the
 * sender's sendmsg fail (EPERM) instead; set on a listener, every connection accepted from it
 * inherits it from the moment it connects (nothing can be queued before).
 */
import koffi from 'koffi';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { Socket, type Server } from 'node:net';

const SOL_SOCKET = 1;
const SO_PASSRIGHTS = 83;

type SetSockOpt = (fd: number, level: number, name: number, value: Int32Array, length: number) => number;
let setsockopt: SetSockOpt | null = null;

/**
 * Refuses descriptors on every connection `server` accepts. Call it once listening and before
 * anyone but root may connect (before the socket's mode is opened). False where the kernel has no
 * SO_PASSRIGHTS (older than 6.16): the caller says so, the hole stays (docs/least-privilege.md).
 */
export function refusePassedDescriptors(server: Server): boolean {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the server is not listening on a descriptor of its own');
  return refuseDescriptorsOn(fd);
}

/** The same on one socket of ours (false also for a descriptor that is not a Unix socket). */
export function refuseDescriptorsOn(fd: number): boolean {
  setsockopt ??= koffi.load('libc.so.6').func('int setsockopt(int, int, int, _In_ int *, int)') as unknown as SetSockOpt;
  return setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, new Int32Array([0]), 4) === 0;
}

/** As refusePassedDescriptors, saying once per process where the kernel cannot. */
export function refusePassedDescriptorsOrSay(server: Server, log?: (msg: string) => void): void {
  if (!refusePassedDescriptors(server)) sayKernelCannot(log);
}

let said = false;
function sayKernelCannot(log: (msg: string) => void = (m) => console.error(m)): void {
  if (said) return;
  said = true;
  log('this kernel has no SO_PASSRIGHTS (Linux 6.16 and later): peers of the supervisor\'s Unix sockets can pass descriptors whose close blocks it');
}

/**
 * Root's end of each of a child's stdio streams refuses descriptors: Node's stdio 'pipe's are Unix
 * socketpairs, so whatever the child becomes (a proxy parsing a cage's bytes, a helper run as the
 * workstation user) could otherwise pass one. Call it as spawn returns, before the child has read
 * anything less trusted. Streams that are not sockets are left as they are.
 */
export function refuseDescriptorsOnStdio(child: ChildProcess): void {
  for (const stream of child.stdio) {
    const fd = (stream as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
    if (typeof fd === 'number' && fd >= 0 && !refuseDescriptorsOn(fd)) sayKernelCannot();
  }
}

interface ConnectCalls {
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, address: Buffer, length: number) => number;
  close: (fd: number) => number;
}
let connectCalls: ConnectCalls | null = null;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 107;

/**
 * A Unix stream connection to `path` refusing descriptors from its first byte, for a peer that may
 * be hostile (a cage's Xvnc, a level's card proxy): Node's connect leaves no moment between making
 * the socket and connecting it, and the peer may send as soon as it accepts. The socket is made and
 * set by hand, connected without blocking (a full backlog fails it, EAGAIN, rather than stopping
 * root), then handed to Node. Like net.createConnection: 'connect' or 'error' comes on a later tick.
 * `paused`: nothing is read until the caller resumes it (a socket to be handed on whole).
 */
export function connectRefusingDescriptors(path: string, options: { paused?: boolean; itself?: boolean; owner?: number } = {}): Socket {
  if (options.itself) return connectToSocketItself(path, options);
  if (!connectCalls) {
    const libc = koffi.load('libc.so.6');
    connectCalls = {
      socket: libc.func('int socket(int, int, int)') as unknown as ConnectCalls['socket'],
      connect: libc.func('int connect(int, void *, uint32)') as unknown as ConnectCalls['connect'],
      close: libc.func('int close(int)') as unknown as ConnectCalls['close'],
    };
  }
  const failed = (code: string) => {
    const socket = new Socket();
    process.nextTick(() => socket.destroy(Object.assign(new Error(`connect ${code} ${path}`), { code, address: path })));
    return socket;
  };
  const name = Buffer.from(path);
  if (name.length > SUN_PATH_MAX || name.includes(0)) return failed('ENAMETOOLONG');
  const fd = connectCalls.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(`errno ${koffi.errno()}`);
  const refused = refuseDescriptorsOn(fd);
  const address = Buffer.alloc(2 + name.length + 1);
  address.writeUInt16LE(AF_UNIX, 0);
  name.copy(address, 2);
  if (connectCalls.connect(fd, address, address.length) !== 0) {
    const errno = koffi.errno();
    connectCalls.close(fd);
    return failed(({ 2: 'ENOENT', 11: 'EAGAIN', 13: 'EACCES', 111: 'ECONNREFUSED' } as Record<number, string>)[errno] ?? `errno ${errno}`);
  }
  if (!refused) sayKernelCannot();
  // pauseOnCreate (Node's own, untyped): the handle is not read from before the caller says.
  const socket = new Socket({ fd, readable: true, writable: true, ...(options.paused ? { pauseOnCreate: true } : {}) } as ConstructorParameters<typeof Socket>[0]);
  process.nextTick(() => socket.emit('connect'));
  return socket;
}

/** Linux's O_PATH (asm-generic/fcntl.h; Node's fs.constants leaves it out). */
const O_PATH = 0o10000000;

/**
 * `itself`: the socket at exactly that name, for a name in a folder a hostile uid may change (a
 * cage's `vnc` folder before its Xvnc has bound there): the name is opened as itself (O_PATH,
 * O_NOFOLLOW: a link is not followed, a FIFO not opened), must be a socket, and that very inode is
 * connected through /proc/self/fd — a link to a socket only root may open leads nowhere.
 */
function connectToSocketItself(path: string, options: { paused?: boolean; owner?: number }): Socket {
  let fd: number;
  try {
    fd = openSync(path, O_PATH | constants.O_NOFOLLOW); // libuv adds O_CLOEXEC
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const socket = new Socket();
    process.nextTick(() => socket.destroy(Object.assign(new Error(`connect ${code} ${path}`), { code, address: path })));
    return socket;
  }
  try {
    const held = fstatSync(fd);
    // `owner`: the inode must be that uid's (a hard link to another account's socket is not).
    if (!held.isSocket() || (options.owner !== undefined && held.uid !== options.owner)) {
      const socket = new Socket();
      const what = held.isSymbolicLink() ? 'a link' : held.isSocket() ? `a socket of uid ${held.uid}` : 'not a socket';
      process.nextTick(() => socket.destroy(Object.assign(new Error(`${path} is ${what}: not connected`), { code: 'ENOTSOCK', address: path })));
      return socket;
    }
    // Connected before it returns (a Unix connect does not wait): the descriptor can go after.
    return connectRefusingDescriptors(`/proc/self/fd/${fd}`, { paused: options.paused });
  } finally {
    closeSync(fd);
  }
}
