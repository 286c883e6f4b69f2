/**
 * Who is at the other end of a Unix socket, from the kernel (SO_PEERCRED): the pid, uid and gid
 * of the process that listened (for a connection we made) or connected (for one we accepted).
 * Node has no binding for it; koffi calls getsockopt(2) in libc directly.
 */
import koffi from 'koffi';
import { readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

let getsockopt: ((fd: number, level: number, name: number, out: PeerCredentials, len: number[]) => number) | null = null;

function binding() {
  if (!getsockopt) {
    const libc = koffi.load('libc.so.6');
    koffi.struct('cloison_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ cloison_ucred *, _Inout_ uint32 *)') as unknown as typeof getsockopt;
  }
  return getsockopt!;
}

/** The peer of a connected Unix socket; throws if the socket has no descriptor or the call fails. */
export function peerCredentials(socket: Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  const out = { pid: 0, uid: 0, gid: 0 };
  if (binding()(fd, SOL_SOCKET, SO_PEERCRED, out, [12]) !== 0) throw new Error('getsockopt(SO_PEERCRED) failed');
  return out;
}

/** The pid namespace a process lives in ("pid:[4026531836]"), or null once it has gone. */
export function pidNamespaceOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}
