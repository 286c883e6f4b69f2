/**
 * What root checks before handing a vnc level's server connection to the part (`vnc.connect`, #29),
 * beyond the policy's path opened exactly (vncServerExecutor.ts):
 * - whose socket it is: the socket's folder and every folder above are root's or the socket owner's,
 *   so nobody else can have put a socket at that name (a VM down, another uid binding the name
 *   first in a folder it can write). The socket's own folder writable by group or others is refused
 *   even when sticky (/tmp: anyone may create the name there). Above it, a sticky folder is accepted
 *   (the next folder on the way is root's or the owner's, checked too, and the sticky bit keeps
 *   others from renaming or removing it); a plain group- or others-writable one is not.
 *   A socket's own write bit only lets others connect to it, which gives them nothing of root's.
 * - who serves it: the listening process's uid (SO_PEERCRED, sandbox/peerCredentials.ts, as the
 *   cages' peer check reads it) is the socket's owner or root;
 * - what it is: a VNC server, its 12-byte RFB greeting `RFB xxx.yyy\n` peeked (MSG_PEEK: nothing
 *   consumed, the viewer reads it itself) within a bound, waited for by timers (never blocking the
 *   manager); a root-only service's socket named by the policy, by mistake or not, is never handed.
 */
import koffi from 'koffi';
import { lstatSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { peerCredentials } from '../sandbox/peerCredentials';
import { refused } from './openedExactly';

/** The socket at `path` (its real path, checked) owned by `owner`: refused unless only root or `owner` can change what that name leads to. */
export function checkSocketPlace(path: string, owner: number): void {
  let own = true;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stat = lstatSync(dir);
    if (!stat.isDirectory()) throw refused(`${dir}, on the way to ${path}, is not a folder`);
    if (stat.uid !== 0 && stat.uid !== owner) {
      throw refused(`${dir}, on the way to ${path}, is uid ${stat.uid}'s: another than root or the socket's owner (uid ${owner}) could have put a socket at that name`);
    }
    const othersWrite = (stat.mode & 0o022) !== 0;
    const sticky = (stat.mode & 0o1000) !== 0;
    if (othersWrite && (own || !sticky)) {
      throw refused(`${dir}, on the way to ${path}, is writable by ${(stat.mode & 0o002) !== 0 ? 'others' : 'its group'}${sticky ? ' (sticky: anyone may create the socket\'s name)' : ''}: another uid could have put a socket at that name`);
    }
    if (dir === '/') return;
    own = false;
  }
}

/** The server listening on `socket` (connected) must be the socket file's owner or root. */
export function checkServerPeer(socket: Socket, path: string, owner: number): void {
  const peer = peerCredentials(socket);
  if (peer.uid !== 0 && peer.uid !== owner) {
    throw refused(`${path} is served by uid ${peer.uid} (pid ${peer.pid}), not by its owner (uid ${owner}) nor root`);
  }
}

const GREETING = 'RFB ddd.ddd\n';
const MSG_PEEK = 0x2;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EAGAIN = 11;
type Recv = (fd: number, buffer: Buffer, length: number, flags: number) => number;
let recv: Recv | null = null;

/** Whether `bytes` (up to 12) can begin an RFB ProtocolVersion. */
function greetingSoFar(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const want = GREETING[i]!;
    const c = bytes[i]!;
    if (want === 'd' ? c < 0x30 || c > 0x39 : c !== want.charCodeAt(0)) return false;
  }
  return true;
}

/**
 * The server's RFB greeting, peeked on the connected, paused `socket` (Node has read nothing of it:
 * the bytes stay for the viewer). Refused if the server sends anything else first, closes, or says
 * nothing within `timeoutMs`. Polled by timers (a non-blocking peek each), so the manager's other
 * requests go on meanwhile.
 */
export async function peekRfbGreeting(socket: Socket, path: string, timeoutMs: number): Promise<string> {
  recv ??= koffi.load('libc.so.6').func('long recv(int, _Out_ uint8_t *, size_t, int)') as unknown as Recv;
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error(`${path}: the connection has no descriptor`);
  const buffer = Buffer.alloc(GREETING.length);
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  for (;;) {
    const n = recv(fd, buffer, buffer.length, MSG_PEEK | MSG_DONTWAIT);
    if (n === 0) throw refused(`${path} closed the connection before any RFB greeting: not a VNC server`);
    if (n < 0) {
      const errno = koffi.errno();
      if (errno !== EAGAIN && errno !== EINTR) throw new Error(`${path}: reading its greeting failed (errno ${errno})`);
    } else {
      const got = buffer.subarray(0, n);
      if (!greetingSoFar(got)) throw refused(`${path} did not answer with an RFB greeting (${JSON.stringify(got.toString('latin1'))}): not a VNC server, not handed over`);
      if (n === buffer.length) return got.toString('latin1').trim();
    }
    if (Date.now() >= deadline) throw refused(`${path} sent no RFB greeting within ${timeoutMs} ms: not handed over`);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 50);
  }
}
