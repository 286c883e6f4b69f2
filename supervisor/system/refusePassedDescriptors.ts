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
import type { Server } from 'node:net';

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

let warned = false;
/** As refusePassedDescriptors, logging once per process where the kernel cannot. */
export function refusePassedDescriptorsOrSay(server: Server, log: (msg: string) => void = (m) => console.error(m)): void {
  if (refusePassedDescriptors(server) || warned) return;
  warned = true;
  log('this kernel has no SO_PASSRIGHTS (Linux 6.16 and later): peers of the supervisor\'s Unix sockets can pass descriptors whose close blocks it');
}
