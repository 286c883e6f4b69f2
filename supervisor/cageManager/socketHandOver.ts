/**
 * How a cage's VNC connection reaches the unprivileged gateway with no extra hop: the root cage
 * manager connects to the cage's socket (the cage's uid's, in a root folder), checks the peer as
 * the gateway does today (uid, pid namespace), then hands the connected socket itself — its file
 * descriptor, SCM_RIGHTS on the part's descriptor socket (sandbox/partChannel.ts) — to the
 * `cloison` part, and closes its own copy. From then on pixels go Xvnc → gateway → browser, as
 * before the split: the root part holds no descriptor of the connection and sees none of its bytes.
 *
 * The manager starts the unprivileged part as every part is started (cloisonPart.ts), with the
 * parts' channel (no Node IPC: what the part writes is read with a bound, and no descriptor is ever
 * taken from it).
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { connectToRoot } from '../sandbox/partChannel';

export const HAND_OVER_MESSAGE = 'cloison.vncSocket';
/** A level's file helper channel (filesHelperExecutor.ts), handed over the same way. */
export const FILES_HELPER_MESSAGE = 'cloison.filesHelper';
/** The input of an xclip serving a cage's selection (xHelperRunExecutor.ts): the part writes the text, then ends it. */
export const SELECTION_INPUT_MESSAGE = 'cloison.selectionInput';
/** A connection to a level's card proxy (cardProxyExecutor.ts's card.socket), one per cage connection to the part's guard. */
export const CARD_SOCKET_MESSAGE = 'cloison.cardSocket';
/** A connection to a vnc level's own VNC server (vncServerExecutor.ts's vnc.connect), numbered apart from cage.vncSocket's. */
export const VNC_SERVER_MESSAGE = 'cloison.vncServer';
const HANDED_TYPES: readonly string[] = [HAND_OVER_MESSAGE, FILES_HELPER_MESSAGE, SELECTION_INPUT_MESSAGE, CARD_SOCKET_MESSAGE, VNC_SERVER_MESSAGE];

export interface HandedSocket {
  type: typeof HAND_OVER_MESSAGE | typeof FILES_HELPER_MESSAGE | typeof SELECTION_INPUT_MESSAGE | typeof CARD_SOCKET_MESSAGE | typeof VNC_SERVER_MESSAGE;
  level: string;
  /** Which connection this is, so the receiver can match it with its ticket. */
  connection: number;
}

/** The manager's end of the part's channel (cloisonPart.ts's UnprivilegedPart): a message, with a descriptor or not. */
export interface PartEnd {
  send(message: HandedSocket, fd?: number): boolean;
}

/**
 * Hands a connected socket to the child; the manager's own descriptor is closed once it is sent.
 * The socket must have been paused from its 'connect' on: bytes Node had already read here would
 * never reach the child (a lost RFB greeting), so a socket holding any is refused.
 */
export function handOverSocket(channel: PartEnd, message: HandedSocket, socket: Socket): Promise<void> {
  if (socket.readableLength > 0 || socket.bytesRead > 0) return Promise.reject(new Error('the socket was read on the manager\'s side: its bytes would be lost'));
  const fd = (socket as unknown as { _handle: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return Promise.reject(new Error('the socket has no descriptor'));
  if (!channel.send(message, fd)) return Promise.reject(new Error('the unprivileged part did not take the socket'));
  socket.destroy();
  return Promise.resolve();
}

/**
 * Descriptors of other kinds, each to the one receiver of its message type (the sound's: its
 * FIFOs and the host player's and recorder's ends, managerSoundEnds.ts): the raw descriptor,
 * which the receiver closes. A type nobody receives is closed on arrival.
 */
const otherReceivers = new Map<string, (message: Record<string, unknown>, fd: number) => void>();

export function onHandedDescriptor(type: string, receiver: (message: Record<string, unknown>, fd: number) => void): void {
  managerChannel();
  otherReceivers.set(type, receiver);
}

let toManager: { send: (message: unknown) => void; sockets: Set<(message: HandedSocket, socket: Socket) => void> } | null = null;

/**
 * On the unprivileged side: its end of the channel (once per process), to send the manager (or a
 * test) messages; the manager gone, the part ends.
 */
export function managerChannel(): { send: (message: unknown) => void; onHandedSocket: (listener: (message: HandedSocket, socket: Socket) => void) => void } {
  if (!toManager) {
    const sockets = new Set<(message: HandedSocket, socket: Socket) => void>();
    const { send } = connectToRoot<unknown, Partial<HandedSocket> | null>({
      message: (m, fd) => {
        if (fd === null) return;
        const other = m && typeof m.type === 'string' ? otherReceivers.get(m.type) : undefined;
        if (other) return other(m as Record<string, unknown>, fd);
        if (!m || !HANDED_TYPES.includes(m.type ?? '') || typeof m.level !== 'string' || typeof m.connection !== 'number') return closeSync(fd);
        // Not read until someone reads it: the gateway takes its handle unread (handleOfHandedSocket).
        const socket = new Socket({ fd, readable: true, writable: true, manualStart: true } as never);
        for (const listener of sockets) listener(m as HandedSocket, socket);
      },
      closed: () => process.exit(0),
    });
    toManager = { send, sockets };
  }
  const { send, sockets } = toManager;
  return { send, onHandedSocket: (listener) => void sockets.add(listener) };
}

/** On the unprivileged side: each socket the manager hands over, with its message. */
export function onHandedSocket(listener: (message: HandedSocket, socket: Socket) => void): void {
  managerChannel().onHandedSocket(listener);
}

/**
 * On the unprivileged side: handed sockets by connection number, whichever arrives first — the
 * socket on the part's channel or the manager's answer naming it. One not taken in time is closed.
 */
export class HandedSockets {
  private readonly arrived = new Map<number, Socket>();
  private readonly waiting = new Map<number, (socket: Socket) => void>();

  constructor(private readonly unclaimedMs = 10_000, private readonly type: HandedSocket['type'] = HAND_OVER_MESSAGE) {
    onHandedSocket((message, socket) => {
      if (message.type !== this.type) return;
      const waiter = this.waiting.get(message.connection);
      if (waiter) {
        this.waiting.delete(message.connection);
        return waiter(socket);
      }
      this.arrived.set(message.connection, socket);
      setTimeout(() => {
        if (this.arrived.get(message.connection) === socket) {
          this.arrived.delete(message.connection);
          socket.destroy();
        }
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
        reject(new Error(`connection ${connection} was not handed over within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(connection, (socket) => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  }
}

/**
 * The libuv handle of a handed socket nobody has read from, for the gateway, which wraps it in a
 * socket of its own with its own read buffers (vncGateway.ts, `{ handle }`): the browser part's
 * admission hands it the same thing (sandbox/partChannel.ts, handleOfDescriptor). A socket already
 * read would lose what it read (the RFB greeting): refused.
 */
export function handleOfHandedSocket(socket: Socket): object {
  const handle = (socket as unknown as { _handle: { reading?: boolean } | null })._handle;
  if (!handle) throw new Error('the handed socket is closed');
  if (handle.reading || socket.bytesRead > 0 || socket.readableLength > 0) throw new Error('the handed socket was read already: its bytes would be lost');
  return handle;
}
