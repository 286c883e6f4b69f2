/**
 * The manager's side of `cage.vncSocket`: connect to the running cage's VNC endpoint, check that
 * the peer is that cage's own Xvnc (its driver's verifyPeer: uid and pid namespace), and hand the
 * connection to the unprivileged part (socketHandOver.ts). The answer is only the connection's
 * number, which the unprivileged part matches with the socket it received. A peer that fails the
 * check is closed here and never handed over.
 */
import type { Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import type { RunningCage } from '../cages/cageDriver';
import { connectPaused } from '../cages/cageVncSocket';
import { handOverSocket, HAND_OVER_MESSAGE, type PartEnd } from './socketHandOver';
import type { RequestOf } from './requests';

export interface VncSocketExecutorOptions {
  /** The level's running cage, or null. */
  cage(level: string): RunningCage | null;
  /** The unprivileged part's channel, where the socket goes (socketHandOver.ts), while it runs. */
  part(): PartEnd | null;
  connectTimeoutMs?: number;
}

export function vncSocketExecutor(options: VncSocketExecutorOptions): (req: RequestOf<'cage.vncSocket'>) => Promise<{ connection: number }> {
  let next = 1;
  return async (req) => {
    const cage = options.cage(req.level);
    if (!cage) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running`);
    const part = options.part();
    if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
    const socket = await connectChecked(cage, options.connectTimeoutMs ?? 5000);
    const connection = next++;
    try {
      await handOverSocket(part, { type: HAND_OVER_MESSAGE, level: req.level, connection }, socket);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return { connection };
  };
}

/** Connected and paused (not one byte read here), then checked: the peer must be this cage's own Xvnc. */
async function connectChecked(cage: RunningCage, timeoutMs: number): Promise<Socket> {
  const socket = await connectPaused(cage, timeoutMs);
  try {
    cage.verifyPeer?.(socket);
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}
