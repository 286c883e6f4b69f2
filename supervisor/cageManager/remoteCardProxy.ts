/**
 * A level's card proxy as the cloison part reaches it: pkcs11proxyd is the cage manager's
 * (`card.proxy` starts and stops it, from the manager's policy), and each connection of the cage
 * to the part's guard gets its own connection to that proxy (`card.socket`), handed over as a
 * descriptor on the part's channel, matched by its number. The part names a level and nothing
 * else: no module, filter, uid or path crosses.
 */
import type { RemoteCardProxy } from '../smartcard/levelCardProxy';
import { liveRequester, type ManagerLink, type ManagerRequester } from './managerLink';
import { CARD_SOCKET_MESSAGE, HandedSockets } from './socketHandOver';

/** The part's one receiver of card connections (one per process), each taken once by the request that asked for it. */
export const handedCardSockets = (): HandedSockets => new HandedSockets(10_000, CARD_SOCKET_MESSAGE);

export function remoteCardProxy(client: ManagerRequester, level: string, handed: HandedSockets): RemoteCardProxy {
  return {
    start: async () => void (await client.request({ op: 'card.proxy', level, action: 'start' })),
    stop: async () => void (await client.request({ op: 'card.proxy', level, action: 'stop' })),
    connect: async () => {
      const { connection } = (await client.request({ op: 'card.socket', level })) as { connection: number };
      return handed.take(connection);
    },
  };
}

/** Every level's proxy through the manager (supervisor.ts gives it to wireSmartcard when it is the cloison part). */
export function remoteCardProxies(manager: ManagerLink): (level: string) => RemoteCardProxy {
  const handed = handedCardSockets();
  const client = liveRequester(manager);
  return (level) => remoteCardProxy(client, level, handed);
}
