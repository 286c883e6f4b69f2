/**
 * The manager's side of `vnc.connect`: a connection to a vnc level's own VNC server (a VM's socket,
 * typically root's in a root folder, as libvirt makes it), handed to the `cloison` part unread —
 * as `cage.vncSocket` hands a bwrap cage's. The part cannot open that socket, and must not need it
 * opened to its account.
 * - The path is the running policy's endpoint of that level, read here; the request names a level
 *   only (requests.ts), and the authorization refuses any level whose cage is not a vnc socket.
 * - The path is opened as itself (O_PATH, O_NOFOLLOW), checked to be that very path (no link on
 *   its way: /proc/self/fd says where the kernel went) and a socket, then connected through the
 *   descriptor (/proc/self/fd/N): a link swapped in after the policy was loaded, or between the
 *   check and the connection, leads nowhere else — not to the manager's own socket, not to a
 *   cage's.
 * - Only root or the socket's owner can have put that socket there (its folders), its server is
 *   that owner or root, and it greets as a VNC server does (vncServerTrust.ts): another uid's socket
 *   bound at the name while the VM is down, or a root-only service's socket, is never handed over.
 * - As the root supervisor connects today (cageVncSocket.ts, rfbProbe.ts): the socket refuses
 *   passed descriptors (the server may be hostile), and not one byte is consumed on this side (the
 *   greeting is peeked).
 */
import { closeSync, fstatSync, openSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Policy } from '../../shared/policy';
import { connectRefusingDescriptors } from '../system/refusePassedDescriptors';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import { handOverSocket, VNC_SERVER_MESSAGE, type PartEnd } from './socketHandOver';
import { checkServerPeer, checkSocketPlace, peekRfbGreeting } from './vncServerTrust';

/** Linux's O_PATH (not in Node's constants): a descriptor naming the inode, usable to connect through /proc. */
const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;

export interface VncServerExecutorOptions {
  policy(): Pick<Policy, 'levels'>;
  part(): PartEnd | null;
  connectTimeoutMs?: number;
  /** How long the server has to send its RFB greeting before it is refused. */
  greetingTimeoutMs?: number;
}

export function vncServerExecutor(options: VncServerExecutorOptions): (req: RequestOf<'vnc.connect'>) => Promise<{ connection: number }> {
  let next = 1;
  return async (req) => {
    const path = socketOf(options.policy(), req.level);
    const part = options.part();
    if (!part) throw new Error('the unprivileged part is not running');
    const { socket, owner } = await connectExactly(path, options.connectTimeoutMs ?? 5000);
    const connection = next++;
    try {
      checkServerPeer(socket, path, owner);
      await peekRfbGreeting(socket, path, options.greetingTimeoutMs ?? 2000);
      await handOverSocket(part, { type: VNC_SERVER_MESSAGE, level: req.level, connection }, socket);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return { connection };
  };
}

/** The level's socket endpoint in the running policy (checked again: the policy may have changed since the authorization). */
function socketOf(policy: Pick<Policy, 'levels'>, level: string): string {
  const cage = policy.levels.find((l) => l.id === level)?.cage;
  if (cage?.driver !== 'vnc' || !('socket' in cage.endpoint)) throw refused(`level "${level.slice(0, 40)}" has no VNC socket endpoint in the running policy`);
  return cage.endpoint.socket;
}

/** The socket at exactly `path`, in folders only root or its owner can write, connected through its descriptor, paused; with its owner. */
export function connectExactly(path: string, timeoutMs: number): Promise<{ socket: Socket; owner: number }> {
  let fd: number;
  try {
    fd = openSync(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  } catch (err) {
    return Promise.reject(new Error(`${path} cannot be opened (${(err as NodeJS.ErrnoException).code})`));
  }
  let socket: Socket;
  let owner: number;
  try {
    const stat = fstatSync(fd);
    owner = stat.uid;
    if (stat.isSymbolicLink()) throw refused(`${path} is a symbolic link: the policy names the server's socket itself`);
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== path) throw refused(`${path} leads elsewhere (${real.slice(0, 200)}): the policy names the socket's own path, no link on its way`);
    if (!stat.isSocket()) throw refused(`${path} is not a socket`);
    checkSocketPlace(path, stat.uid);
    // Connected now (a Unix connect does not wait): the descriptor is closed right after.
    socket = connectRefusingDescriptors(`/proc/self/fd/${fd}`, { paused: true });
  } catch (err) {
    closeSync(fd);
    return Promise.reject(err as Error);
  }
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${path} did not answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${path}: ${err.message.replace(/\/proc\/self\/fd\/\d+/, 'its socket')}`));
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.pause();
      resolve({ socket, owner });
    });
  });
}
