/**
 * How the supervisor reaches the root cage manager when it runs as the unprivileged `cloison` part
 * (issue #29, docs/least-privilege.md). Given in `SupervisorOptions.manager`, every act that needs
 * root goes through `client` as one of the requests of requests.ts, and what the manager hands over
 * (a cage's VNC connection, a file helper's channel, a sound end) comes on the part's channel
 * (socketHandOver.ts: each receiver makes its own `HandedSockets` of its message type). Absent, the
 * supervisor is the root part and does that work itself, as before the split.
 *
 * A connection that ends (the manager closed it, or restarted) fails what was waiting on it with
 * CONNECTION_LOST; `reconnect` makes the next one, which every user of the link then reads as
 * `client` (connectManagerLink: one reconnection at a time, shared by whoever asks meanwhile).
 */
import { CageManagerClient, type CageManagerClientOptions } from './cageManagerClient';

export interface ManagerLink {
  client: CageManagerClient;
  /**
   * A new connection once `client`'s has ended, which becomes `client` (the one under way if another
   * user asked first; `client` itself while it is still connected). Absent: no way back.
   */
  reconnect?: () => Promise<CageManagerClient>;
  /** The manager's own folders (the cages' homes and sockets), when they are not the part's. */
  managerDirs?: { stateDir: string; runDir: string };
}

/**
 * A link to the manager's socket at `path`, connected now (`waitForListener`: once the manager
 * listens, the part being started before it has read its policy: CageManagerClient.connectOnceListening);
 * `reconnect` tries again every `retryMs` until the socket answers (a manager restarting), or until `close()`.
 */
export async function connectManagerLink(
  path: string,
  options: { client?: CageManagerClientOptions; retryMs?: number; managerDirs?: ManagerLink['managerDirs']; waitForListener?: boolean } = {},
): Promise<ManagerLink & { close(): void }> {
  let closed = false;
  let pending: Promise<CageManagerClient> | null = null;
  const link: ManagerLink & { close(): void } = {
    client: await (options.waitForListener ? CageManagerClient.connectOnceListening(path, options.client) : CageManagerClient.connect(path, options.client)),
    ...(options.managerDirs ? { managerDirs: options.managerDirs } : {}),
    reconnect: () => {
      if (!link.client.closed) return Promise.resolve(link.client);
      pending ??= (async () => {
        for (;;) {
          if (closed) throw new Error('the link to the cage manager is closed');
          try {
            link.client = await CageManagerClient.connect(path, options.client);
            return link.client;
          } catch {
            await new Promise((r) => setTimeout(r, options.retryMs ?? 250));
          }
        }
      })().finally(() => (pending = null));
      return pending;
    },
    close: () => {
      closed = true;
      link.client.close();
    },
  };
  return link;
}

/** What a remote side asks the manager through: its requests, and whether the way to it is gone for good. */
export type ManagerRequester = Pick<CageManagerClient, 'request' | 'closed'>;

/**
 * The link's current connection, connected again first when it has ended (a cut, a manager
 * restarted): what the part's remote sides hold, so none keeps asking over a dead connection. A
 * request in flight when the connection ends still fails CONNECTION_LOST (it may or may not have
 * been carried out: its caller decides).
 */
export function liveRequester(link: ManagerLink): ManagerRequester {
  return {
    request: (request) => (link.client.closed && link.reconnect ? link.reconnect().then((client) => client.request(request)) : link.client.request(request)),
    get closed() {
      return link.client.closed && !link.reconnect;
    },
  };
}
