/**
 * A level's card proxy as the cloison part reaches it: pkcs11proxyd is the cage manager's
 * (`card.proxy` starts and stops it, from the manager's policy), and each connection of the cage
 * to the part's guard gets its own connection to that proxy (`card.socket`), handed over as a
 * descriptor on the part's channel, matched by its number. The part names a level and nothing
 * else: no module, filter, uid or path crosses.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { RemoteCardProxy } from '../smartcard/levelCardProxy';
import { CARD_SOCKET_MESSAGE } from './cardProxyExecutor';
import { liveRequester, type ManagerLink, type ManagerRequester } from './managerLink';
import { onHandedDescriptor } from './socketHandOver';

/** Card connections arrived from the manager, each taken once by the request that asked for it. */
export class HandedCardSockets {
  private readonly arrived = new Map<number, Socket>();
  private readonly waiting = new Map<number, (socket: Socket) => void>();

  constructor(private readonly unclaimedMs = 10_000) {
    onHandedDescriptor(CARD_SOCKET_MESSAGE, (message, fd) => {
      if (typeof message.connection !== 'number') return closeSync(fd);
      // Not read until the guard relays it: every byte of the proxy's goes to the cage.
      const socket = new Socket({ fd, readable: true, writable: true, manualStart: true } as never);
      const waiter = this.waiting.get(message.connection);
      if (waiter) {
        this.waiting.delete(message.connection);
        return waiter(socket);
      }
      this.arrived.set(message.connection, socket);
      setTimeout(() => {
        if (this.arrived.get(message.connection as number) !== socket) return;
        this.arrived.delete(message.connection as number);
        socket.destroy();
      }, this.unclaimedMs).unref();
    });
  }

  take(connection: number, timeoutMs = 5000): Promise<Socket> {
    const ready = this.arrived.get(connection);
    if (ready) {
      this.arrived.delete(connection);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(connection);
        reject(new Error(`card connection ${connection} never arrived`));
      }, timeoutMs);
      this.waiting.set(connection, (socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  }
}

export function remoteCardProxy(client: ManagerRequester, level: string, handed: HandedCardSockets): RemoteCardProxy {
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
  const handed = new HandedCardSockets();
  const client = liveRequester(manager);
  return (level) => remoteCardProxy(client, level, handed);
}
