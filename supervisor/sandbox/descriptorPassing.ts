/**
 * Descriptors from the root part to an unprivileged part (SCM_RIGHTS) without Node's IPC channel:
 * Node has no binding for sendmsg/recvmsg with ancillary data, so koffi calls libc directly (as
 * for SO_PEERCRED, peerCredentials.ts). Each descriptor travels with one byte on a socketpair of
 * its own; which message it belongs to is said on the part's framed stream (partChannel.ts).
 *
 * The messages are laid out by hand in one block of memory allocated once (x86-64 and arm64 Linux,
 * LP64: struct msghdr is 56 bytes, struct iovec 16, a cmsghdr 16 then the int, padded to 24).
 */
import koffi from 'koffi';
import { closeSync } from 'node:fs';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SHUT_RD = 0;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CTRUNC = 0x8;
const MSG_CMSG_CLOEXEC = 0x40000000;
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 32: 'EPIPE', 88: 'ENOTSOCK', 104: 'ECONNRESET', 105: 'ENOBUFS', 109: 'ETOOMANYREFS' };

/** Where each piece sits in the block. */
const MSGHDR = 0;
const IOVEC = 56;
const BYTE = 72;
const CONTROL = 80;
/** CMSG_SPACE(sizeof(int)) and CMSG_LEN(sizeof(int)). */
const CONTROL_SPACE = 24;
const CONTROL_LEN = 20;
/** Room for a cmsg of several descriptors: extra ones a peer would slip in are received, then closed. */
const RECEIVE_CONTROL_SPACE = 16 + 4 * 16;
const BLOCK = CONTROL + RECEIVE_CONTROL_SPACE;

interface Libc {
  pipe2: (fds: Int32Array, flags: number) => number;
  socketpair: (domain: number, type: number, protocol: number, fds: Int32Array) => number;
  sendmsg: (fd: number, msg: unknown, flags: number) => number;
  recvmsg: (fd: number, msg: unknown, flags: number) => number;
  shutdown: (fd: number, how: number) => number;
  block: unknown;
  view: Buffer;
  address: bigint;
}
let libc: Libc | null = null;

function bind(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const block = koffi.alloc('uint8', BLOCK);
  libc = {
    pipe2: lib.func('int pipe2(_Out_ int *, int)') as unknown as Libc['pipe2'],
    socketpair: lib.func('int socketpair(int, int, int, _Out_ int *)') as unknown as Libc['socketpair'],
    sendmsg: lib.func('long sendmsg(int, void *, int)') as unknown as Libc['sendmsg'],
    recvmsg: lib.func('long recvmsg(int, void *, int)') as unknown as Libc['recvmsg'],
    shutdown: lib.func('int shutdown(int, int)') as unknown as Libc['shutdown'],
    block,
    view: Buffer.from(koffi.view(block, BLOCK)),
    address: koffi.address(block),
  };
  return libc;
}

function failure(call: string): Error & { code: string } {
  const errno = koffi.errno();
  const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  return Object.assign(new Error(`${call} failed: ${code}`), { code });
}

/** Lays out a msghdr of one byte and `controlSpace` bytes of ancillary room. */
function layOut(c: Libc, controlSpace: number): void {
  const v = c.view;
  v.fill(0);
  v.writeBigUInt64LE(c.address + BigInt(IOVEC), MSGHDR + 16); // msg_iov
  v.writeBigUInt64LE(1n, MSGHDR + 24); // msg_iovlen
  v.writeBigUInt64LE(c.address + BigInt(CONTROL), MSGHDR + 32); // msg_control
  v.writeBigUInt64LE(BigInt(controlSpace), MSGHDR + 40); // msg_controllen
  v.writeBigUInt64LE(c.address + BigInt(BYTE), IOVEC); // iov_base
  v.writeBigUInt64LE(1n, IOVEC + 8); // iov_len
}

/** A connected pair of Unix stream sockets, close-on-exec (the part's end is dup'ed into it). */
export function socketPair(): [number, number] {
  const c = bind();
  const fds = new Int32Array(2);
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) !== 0) throw failure('socketpair');
  return [fds[0]!, fds[1]!];
}

/**
 * A pipe, close-on-exec: [read end, write end]. Unlike a Unix socket it carries bytes only, so
 * whoever writes into it cannot attach a descriptor for the reader's kernel to close.
 */
export function pipe(): [number, number] {
  const c = bind();
  const fds = new Int32Array(2);
  if (c.pipe2(fds, SOCK_CLOEXEC) !== 0) throw failure('pipe2'); // O_CLOEXEC has SOCK_CLOEXEC's value
  return [fds[0]!, fds[1]!];
}

/** Nothing is ever read on this end: what the peer would send there fails (EPIPE) instead of queuing. */
export function shutdownReading(fd: number): void {
  if (bind().shutdown(fd, SHUT_RD) !== 0) throw failure('shutdown');
}

/**
 * Sends `fd` with one byte, never waiting (MSG_DONTWAIT): a peer that stops reading gets EAGAIN
 * here, thrown, not a blocked root part. The caller still owns `fd` (and closes it).
 */
export function sendDescriptor(channel: number, fd: number): void {
  const c = bind();
  layOut(c, CONTROL_SPACE);
  c.view.writeBigUInt64LE(BigInt(CONTROL_LEN), CONTROL);
  c.view.writeInt32LE(SOL_SOCKET, CONTROL + 8);
  c.view.writeInt32LE(SCM_RIGHTS, CONTROL + 12);
  c.view.writeInt32LE(fd, CONTROL + 16);
  c.view[BYTE] = 0x46; // 'F': the byte the descriptor travels with
  if (c.sendmsg(channel, c.block, MSG_DONTWAIT | MSG_NOSIGNAL) !== 1) throw failure('sendmsg');
}

/**
 * Receives the next descriptor sent with sendDescriptor, or null if none waits (or the byte came
 * without one). Any descriptor beyond the first is closed at once.
 */
export function receiveDescriptor(channel: number): number | null {
  const c = bind();
  layOut(c, RECEIVE_CONTROL_SPACE);
  const got = c.recvmsg(channel, c.block, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (got < 0) {
    const err = failure('recvmsg');
    if (err.code === 'EAGAIN') return null;
    throw err;
  }
  const controlLength = Number(c.view.readBigUInt64LE(MSGHDR + 40));
  const received: number[] = [];
  for (let at = CONTROL; at + 16 <= CONTROL + controlLength; ) {
    const length = Number(c.view.readBigUInt64LE(at));
    if (length < 16) break;
    if (c.view.readInt32LE(at + 8) === SOL_SOCKET && c.view.readInt32LE(at + 12) === SCM_RIGHTS) {
      for (let p = at + 16; p + 4 <= at + length; p += 4) received.push(c.view.readInt32LE(p));
    }
    at += (length + 7) & ~7;
  }
  // Cut short: what came is not what was sent, none of it is kept.
  const truncated = (c.view.readInt32LE(MSGHDR + 48) & MSG_CTRUNC) !== 0;
  const [first, ...extra] = truncated ? [undefined, ...received] : received;
  for (const fd of extra) if (fd !== undefined) closeSync(fd);
  return first ?? null;
}
