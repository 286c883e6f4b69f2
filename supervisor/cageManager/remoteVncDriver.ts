/**
 * The fleet's driver for a vnc level whose endpoint is a Unix socket, in the `cloison` part (#29).
 * Such a socket is its server's (a VM's: libvirt makes it root's, in a root folder): the part cannot
 * open it and must not need it opened to its account. Every connection is the root cage manager's
 * (`vnc.connect`: the policy's own path of that level, opened without following a link,
 * vncServerExecutor.ts), handed over on the part's channel:
 * - `start()` and the watch: a connection whose RFB greeting is read here, then closed — as the
 *   root supervisor's VncDriver probes (rfbProbe.ts); a server gone ends the "cage" with the same
 *   words, so the band shows it and a retry starts it again;
 * - `openVnc()`: a connection handed unread to the gateway;
 * - `verifyPeer`: refuses whatever is connected another way.
 * A lost manager connection is not the server's end: the watch connects again and asks again.
 * A TCP endpoint needs no root (a local port is anyone's to connect to): the part's VncDriver
 * connects to it itself (partSides.ts).
 */
import type { Socket } from 'node:net';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { CageDriver, CageExit, RunningCage } from '../cages/cageDriver';
import type { ManagerLink } from './managerLink';
import { handleOfHandedSocket, HandedSockets, VNC_SERVER_MESSAGE } from './socketHandOver';

export interface RemoteVncDriverOptions {
  link: ManagerLink;
  /** The part's one receiver of `vnc.connect`'s sockets. */
  handed: HandedSockets;
  level: string;
  /** The policy's socket, only to name it to the user. */
  socket: string;
  watchIntervalMs?: number;
  probeTimeoutMs?: number;
}

export class RemoteVncDriver implements CageDriver {
  constructor(private readonly options: RemoteVncDriverOptions) {}

  async start(): Promise<RunningCage> {
    const { socket: path, level } = this.options;
    try {
      await this.probe();
    } catch (err) {
      throw new Error(`VNC endpoint ${path} unreachable: ${(err as Error).message}`);
    }
    let stopWatching = () => {};
    const exited = new Promise<CageExit>((resolve) => {
      let probing = false;
      const timer = setInterval(() => {
        if (probing) return;
        probing = true;
        this.probe().then(
          () => (probing = false),
          (err: Error) => {
            probing = false;
            // The manager's connection lost is not the server's end: asked again over the next one.
            if (err instanceof CloisonError && err.code === 'CONNECTION_LOST') return;
            clearInterval(timer);
            resolve({ reason: `VNC endpoint ${path} stopped answering: ${err.message}` });
          },
        );
      }, this.options.watchIntervalMs ?? 5000);
      stopWatching = () => {
        clearInterval(timer);
        resolve({ reason: 'stopped by the supervisor' });
      };
    });
    return {
      endpoint: { path },
      innerPid: null,
      exited,
      stop: async () => stopWatching(),
      verifyPeer: () => {
        throw new CloisonError('POLICY_DENIED', bilingual(`les connexions VNC du niveau ${level} viennent du gestionnaire des cages, jamais d’ici`, `level ${level}'s VNC connections come from the cage manager (openVnc), never connected from here`));
      },
      openVnc: async () => handleOfHandedSocket(await this.connection()),
    };
  }

  /** A connection the manager made to the level's socket, handed over. */
  private async connection(): Promise<Socket> {
    const { link, level } = this.options;
    if (link.client.closed && link.reconnect) await link.reconnect();
    const { connection } = (await link.client.request({ op: 'vnc.connect', level })) as { connection: number };
    return this.options.handed.take(connection);
  }

  /** The server's RFB greeting read over a new connection, which is then closed. */
  private async probe(): Promise<string> {
    const socket = await this.connection();
    return rfbGreeting(socket, this.options.probeTimeoutMs ?? 2000);
  }
}

function rfbGreeting(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no RFB greeting within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err: Error | null, version?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(version ?? '');
    };
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 12) return;
      const version = got.subarray(0, 12).toString('latin1');
      if (/^RFB \d{3}\.\d{3}\n$/.test(version)) finish(null, version.trim());
      else finish(new Error('endpoint did not answer with an RFB greeting'));
    });
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new Error('endpoint closed before its RFB greeting')));
    socket.resume();
  });
}

/** The part's vnc-socket drivers: one receiver of their handed sockets for the process (made now). */
export function remoteVncDrivers(link: ManagerLink, options: { watchIntervalMs?: number } = {}): (level: string, socket: string) => RemoteVncDriver {
  const handed = new HandedSockets(10_000, VNC_SERVER_MESSAGE);
  return (level, socket) => new RemoteVncDriver({ link, handed, level, socket, ...options });
}
