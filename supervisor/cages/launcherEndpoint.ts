/**
 * Where a cage's launcher (cageLauncherInCage.mjs) reaches the supervisor, again and again: a Unix
 * socket the supervisor listens on, in a root-owned folder of the cage's run folder bound into the
 * cage at /run/cloison-launcher. The launcher connects to it at start and again whenever its
 * connection ends — so a cage re-adopted after a supervisor crash, restart or upgrade starts
 * programs again (cageAdoption.ts), which a socket pair handed over at start could not survive.
 *
 * Who may be the launcher, from the kernel (SO_PEERCRED, as the gateway checks Xvnc): the cage's
 * uid, in the cage's pid namespace; the first such peer is the launcher the session started before
 * anything else ran there, and from then on only that very process (its pid and start time, kept in
 * the cage's record) — another process of the cage's user, in the cage or outside it, that connects
 * while the launcher is away is refused and journaled. Nobody but root can bind a name in the folder,
 * so no process of the cage's user can pose as the supervisor to the launcher either.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import { peerCredentials, pidNamespaceOf } from '../sandbox/peerCredentials';
import { refusePassedDescriptorsOrSay } from '../system/refusePassedDescriptors';
import { connectCageLauncher, type CageLauncher, type LaunchedProgram } from './cageLauncher';
import { isSameProcess, processIdentity, type ProcessIdentity } from './cageRecord';

/** Inside the cage: the folder and the socket the launcher connects to. */
export const CAGE_LAUNCHER_DIR = '/run/cloison-launcher';
export const LAUNCHER_SOCKET = 'launcher.sock';

/** How long a request waits for a launcher that is reconnecting (a supervisor that just started). */
const RECONNECT_WAIT_MS = 5000;

export function launcherDir(runFolder: string): string {
  return join(runFolder, 'launcher');
}

/** The folder bound into the cage: root's, 0755, made before the cage starts. */
export function prepareLauncherDir(runFolder: string): string {
  const dir = launcherDir(runFolder);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chownSync(dir, 0, 0);
  chmodSync(dir, 0o755);
  return dir;
}

export interface LauncherEndpointOptions {
  level: string;
  uid: number;
  runFolder: string;
  /** The cage's pid namespace ("pid:[…]"): a launcher from anywhere else is refused. */
  pidNamespace: string;
  /**
   * The launcher already known (from the cage's record): only that process may connect. Null at a
   * cage's start: the first peer of the cage is its launcher (started before anything else there);
   * null for a re-adopted cage (no launcher was recorded): nobody is taken as it.
   */
  pinned: ProcessIdentity | null;
  firstComer: boolean;
  /** The launcher is known from now on (kept in the cage's record). */
  onPinned?(launcher: ProcessIdentity): void;
  /** A connection that is not the launcher's: journaled by the caller. */
  onRefused?(reason: string, peer: { pid: number; uid: number }): void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface LauncherEndpoint {
  /** The cage's launcher, whichever connection carries it now. */
  launcher: CageLauncher;
  /** The launcher's process once it has connected (first start) or as recorded. */
  readonly pinned: ProcessIdentity | null;
  /** Resolves true once the launcher is connected, false after `timeoutMs`. */
  connected(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export async function openLauncherEndpoint(options: LauncherEndpointOptions): Promise<LauncherEndpoint> {
  const { level, uid, runFolder } = options;
  const dir = prepareLauncherDir(runFolder);
  const path = join(dir, LAUNCHER_SOCKET);
  let pinned = options.pinned;
  let current: CageLauncher | null = null;
  let closed = false;
  const waiters = new Set<() => void>();
  const exitListeners = new Set<(program: LaunchedProgram) => void>();

  const refuse = (socket: Socket, reason: string, peer: { pid: number; uid: number }) => {
    socket.destroy();
    options.log?.('cage launcher connection refused', { level, reason, peerPid: peer.pid, peerUid: peer.uid });
    options.onRefused?.(reason, peer);
  };

  const accept = (socket: Socket) => {
    let peer: { pid: number; uid: number };
    try {
      peer = peerCredentials(socket);
    } catch {
      socket.destroy();
      return;
    }
    if (peer.uid !== uid) return refuse(socket, `a process of uid ${peer.uid} connected as the launcher of this cage`, peer);
    if (pidNamespaceOf(peer.pid) !== options.pidNamespace) return refuse(socket, 'a process outside the cage connected as its launcher', peer);
    if (pinned && (peer.pid !== pinned.pid || !isSameProcess(pinned))) {
      return refuse(socket, `a process of the cage other than its launcher connected as its launcher (pid ${peer.pid}; the launcher is pid ${pinned.pid}${isSameProcess(pinned) ? '' : ', gone'})`, peer);
    }
    if (!pinned && !options.firstComer) return refuse(socket, 'no launcher was recorded for this cage: no process is taken as it', peer);
    if (!pinned) {
      pinned = processIdentity(peer.pid);
      if (!pinned) return socket.destroy();
      options.onPinned?.(pinned);
    }
    // The launcher itself, reconnecting: its newest connection is the one used.
    const previous = current;
    const connection = connectCageLauncher(socket, level);
    connection.onExit((program) => {
      for (const l of exitListeners) l(program);
    });
    current = connection;
    if (previous?.alive) previous.close?.();
    for (const w of waiters) w();
    waiters.clear();
  };

  rmSync(path, { force: true });
  const server: Server = createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  server.on('error', (err) => options.log?.('cage launcher socket failed', { level, error: err.message }));
  // A cage's process must not pass root a descriptor whose close blocks it (before the cage may connect).
  refusePassedDescriptorsOrSay(server, (msg) => options.log?.(msg, { level }));
  // Root's socket, the cage's group may connect (connect needs write permission); the folder is root's.
  chownSync(path, 0, uid);
  chmodSync(path, 0o660);

  const connected = (timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (current?.alive) return resolve(true);
      if (closed || (pinned && !isSameProcess(pinned))) return resolve(false);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(current?.alive ?? false);
      };
      const timer = setTimeout(done, timeoutMs);
      waiters.add(done);
    });

  const gone = bilingual('son lanceur s’est arrêté ; aucun programme n’y démarre avant son redémarrage', 'its launcher has stopped; programs cannot start there until it restarts');
  const ready = async (): Promise<CageLauncher> => {
    if (!current?.alive) await connected(RECONNECT_WAIT_MS);
    if (!current?.alive) throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`cage « ${level} » : ${gone.fr}`, `cage "${level}": ${gone.en}`));
    return current;
  };

  const launcher: CageLauncher = {
    get alive() {
      return current?.alive ?? false;
    },
    launch: async (request) => (await ready()).launch(request),
    run: async (request) => (await ready()).run(request),
    stop: async (pid, signal) => (await ready()).stop(pid, signal),
    launched: () => current?.launched() ?? [],
    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
  };

  return {
    launcher,
    get pinned() {
      return pinned;
    },
    connected,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      current?.close?.();
      for (const w of waiters) w();
      // The name stays: the launcher finds the next supervisor's socket in its place.
    },
  };
}

/** Whether the socket's folder is still as the supervisor made it (root's, not writable by others). */
export function launcherDirIntact(runFolder: string): boolean {
  try {
    const st = lstatSync(launcherDir(runFolder));
    return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
