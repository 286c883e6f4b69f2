/**
 * The fleet's driver for a bwrap level in the `cloison` part (issue #29): a RemoteCageDriver over
 * the link's current connection, which does not take a lost connection for the cage's end, nor
 * start a second cage because of one. Its cage's `exited` resolves only with the manager's word:
 * - the wait fails with CONNECTION_LOST (the manager closed the connection, or is restarting):
 *   the link connects again and `cage.wait` is asked anew (RemoteCageDriver.rejoin) — pending while
 *   that manager runs the cage, answered at once with its end if it ended meanwhile;
 * - the wait is refused (a manager restarted since holds no cage of the level): `exited` resolves
 *   saying so, and the lifecycle's restart asks `cage.start`, which adopts the cage left running
 *   (cageAdoption.ts) or starts the level's one cage — never one beside a cage the manager holds.
 * `stop()` that meets a lost connection waits for the link's next one and asks again. A start
 * refused because the manager runs the level's cage already (the part itself started again, its
 * manager running on) waits for that cage instead. The cage's sound, app quitting, window counts
 * limit notices and tunnel are the current connection's RemoteCageDriver cage's (notice and tunnel
 * listeners follow it to each cage found again).
 */
import { CloisonError } from '../../shared/errors';
import type { CageDriver, CageExit, CageNotice, RunningCage } from '../cages/cageDriver';
import type { Policy } from '../../shared/policy';
import type { TunnelView } from '../../shared/rpc';
import type { ManagerLink } from './managerLink';
import { CageEndUnknown, RemoteCageDriver, type RemoteCageDriverOptions } from './remoteCageDriver';
import { handleOfHandedSocket, HandedSockets } from './socketHandOver';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export interface RejoiningCageDriverOptions extends Omit<RemoteCageDriverOptions, 'client'> {
  link: ManagerLink;
  log?: Log;
}

/** How many times a stop meeting a lost connection asks again over the next one. */
const STOP_ATTEMPTS = 3;

export class RejoiningCageDriver implements CageDriver {
  constructor(private readonly options: RejoiningCageDriverOptions) {}

  private remote(): RemoteCageDriver {
    const { link, log: _log, ...rest } = this.options;
    return new RemoteCageDriver({ ...rest, client: link.client });
  }

  async start(): Promise<RunningCage> {
    const { level, link, log } = this.options;
    let current: RunningCage;
    try {
      current = await this.remote().start();
    } catch (err) {
      if (!(err instanceof CloisonError && /\bcage \S+ is running already\b/.test(err.message))) throw err;
      // The part started again while its manager ran on: the level's cage is the manager's already; waited for, not started twice.
      log?.('the cage manager runs the cage already: waited for, not started again', { level });
      current = this.remote().rejoin(null);
    }
    const changed: Array<() => void> = [];
    // The lifecycle listens once; each cage found again over a new connection gets its listeners.
    const noticeListeners: Array<(notice: CageNotice) => void> = [];
    const tunnelListeners: Array<(view: TunnelView) => void> = [];
    const firstTunnel = current.tunnel;
    const replace = (next: RunningCage | null) => {
      if (next) {
        current = next;
        for (const listener of noticeListeners) next.onNotice?.(listener);
        for (const listener of tunnelListeners) next.tunnel?.onChange(listener);
      }
      for (const listener of changed.splice(0)) listener();
    };
    const exited = (async (): Promise<CageExit> => {
      for (;;) {
        try {
          return await current.exited;
        } catch (err) {
          if (!(err instanceof CageEndUnknown)) throw err;
          if (err.code !== 'CONNECTION_LOST' || !link.reconnect) {
            return { reason: `the cage manager did not say how cage ${level} ended (${err.failure.message.slice(0, 300)}): started again through it, which adopts a cage left running` };
          }
          log?.('cage manager connection lost: connecting again to ask for the cage', { level });
          try {
            await link.reconnect();
          } catch (failure) {
            return { reason: `the cage manager's connection was lost and not made again (${(failure as Error).message.slice(0, 300)}): cage ${level}'s end is not known` };
          }
          // Over the new connection: the same cage, waited for anew (no start: the manager may hold it).
          replace(this.remote().rejoin(current.innerPid));
          log?.('cage manager connected again: the cage waited for anew', { level });
        }
      }
    })();
    // Settled, a stop waiting for the next connection stops waiting.
    let done = false;
    const settled = exited.then(
      (exit) => ((done = true), replace(null), exit),
      (err: unknown) => {
        done = true;
        replace(null);
        throw err;
      },
    );
    settled.catch(() => undefined);
    const nextConnection = (seen: RunningCage) => (current !== seen ? Promise.resolve() : new Promise<void>((r) => changed.push(r)));
    return {
      get endpoint() {
        return current.endpoint;
      },
      get innerPid() {
        return current.innerPid;
      },
      // What its start said (the manager's cage.start answer): the same cage when found again.
      ...(current.screen ? { screen: current.screen } : {}),
      ...(current.desktopColour ? { desktopColour: current.desktopColour } : {}),
      exited: settled,
      stop: async () => {
        for (let attempt = 1; ; attempt++) {
          const asked = current;
          try {
            await asked.stop();
            return void (await settled);
          } catch (err) {
            const lost = err instanceof CloisonError && err.code === 'CONNECTION_LOST';
            if (!lost || !link.reconnect || attempt >= STOP_ATTEMPTS) throw err;
            await nextConnection(asked);
            // Ended meanwhile (the manager said so over the new connection): nothing left to stop.
            if (done) return;
          }
        }
      },
      verifyPeer: (socket) => current.verifyPeer?.(socket),
      // Over the link's connection of the moment: a viewer opened while it connects again waits for it.
      openVnc: async () => {
        if (link.client.closed && link.reconnect) await link.reconnect();
        const { connection } = (await this.remote().ask({ op: 'cage.vncSocket', level })) as { connection: number };
        return handleOfHandedSocket(await this.options.handed.take(connection));
      },
      get launcher() {
        return current.launcher;
      },
      // Sound, quitting, window counts and notices: the current connection's cage's (the manager's requests).
      get sound() {
        return current.sound;
      },
      quitApps: (timeoutMs) => current.quitApps?.(timeoutMs) ?? Promise.resolve({ outcome: 'not asked', windows: 0, windowsLeft: 0, programsLeft: 0, waitedMs: 0, reason: 'no cage to ask' }),
      appWindows: () => current.appWindows?.() ?? Promise.resolve(null),
      onNotice: (listener) => {
        noticeListeners.push(listener);
        current.onNotice?.(listener);
      },
      // The tunnel as the current connection's cage asks for it (tunnel.status); its listeners follow it to each cage found again.
      ...(firstTunnel
        ? {
            tunnel: {
              current: () => (current.tunnel ?? firstTunnel).current(),
              onChange: (listener: (view: TunnelView) => void) => {
                tunnelListeners.push(listener);
                current.tunnel?.onChange(listener);
              },
            },
          }
        : {}),
    };
  }
}

/**
 * The cage fleet's drivers in the `cloison` part (cageFleet.ts `remote`): one receiver of the
 * cages' handed VNC connections for the process (made now: a connection may come before the answer
 * naming it), each level's cage named in the manager's folders.
 */
export function rejoiningDrivers(link: ManagerLink, policy: () => Pick<Policy, 'levels' | 'audio'>, ownDirs: { stateDir: string; runDir: string }, log?: Log): (level: string, uid: number) => RejoiningCageDriver {
  const handed = new HandedSockets();
  return (level, uid) => new RejoiningCageDriver({ link, handed, level, uid, policy, ...(link.managerDirs ?? ownDirs), ...(log ? { log } : {}) });
}
