/**
 * The unprivileged side's end of the cage manager's socket: one connection, requests answered in
 * any order by id. A refusal is a CloisonError with the manager's code (BAD_REQUEST, POLICY_DENIED);
 * a connection that ends fails every request still waiting with a ManagerConnectionLost (code
 * CONNECTION_LOST), which no answer of the manager is: "the manager said the cage ended" and "the
 * connection was lost" stay apart. After a loss the part connects anew (`connect`, same socket).
 *
 * The client keeps to the manager's bound (cageManagerServer.ts `laneOf`, `laneBound`): in each lane
 * at most the bound in flight, the rest queued in order and sent as answers come, so one level's
 * hung requests delay only that level's same requests, and the manager never has to answer BUSY.
 */
import { connect, type Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import { encodeFrame, FrameReader } from '../sandbox/frames';
import { laneBound, laneOf, type CageManagerServerOptions, type Reply } from './cageManagerServer';
import type { RootRequest } from './requests';

/** The manager's limits, as it was given them (the defaults are the manager's defaults). */
export type CageManagerClientOptions = Pick<CageManagerServerOptions, 'maxInFlight' | 'longPendingOps' | 'maxLongPending'>;

/** The connection ended before the answer: not the manager's answer. `sent`: whether the request left this process. */
export class ManagerConnectionLost extends CloisonError {
  constructor(readonly sent: boolean) {
    super('CONNECTION_LOST', sent ? 'the connection to the cage manager was lost before its answer (the cage manager closed the connection)' : 'the connection to the cage manager was lost: the request was not sent');
    this.name = 'ManagerConnectionLost';
  }
}

interface Pending {
  request: RootRequest;
  lane: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class CageManagerClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Pending>();
  private readonly inFlight = new Map<string, number>();
  private readonly queued = new Map<string, Pending[]>();
  private readonly reader = new FrameReader(Infinity);
  private lost = false;
  private readonly closeListeners: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly options: CageManagerClientOptions,
  ) {
    socket.on('data', (bytes: Buffer) => {
      let frames: Reply[];
      try {
        frames = this.reader.push(bytes) as Reply[];
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        const entry = this.waiting.get(frame.id);
        if (!entry) continue;
        this.waiting.delete(frame.id);
        this.inFlight.set(entry.lane, (this.inFlight.get(entry.lane) ?? 1) - 1);
        if (frame.ok) entry.resolve(frame.result);
        else entry.reject(new CloisonError(frame.error.code, frame.error.message));
        this.sendQueued(entry.lane);
      }
    });
    socket.on('close', () => this.fail());
    socket.on('error', () => socket.destroy());
  }

  static connect(path: string, options: CageManagerClientOptions = {}): Promise<CageManagerClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new CageManagerClient(socket, options));
      });
    });
  }

  /**
   * A connection once the manager listens: the part is started before the manager has read its
   * policy (managerMain.ts), and the socket appears only after that. The socket missing, refused
   * (a stale file) or not yet given to the part's account is tried again every `retryMs`; any other
   * error, or `giveUpMs` without an answer, fails. The manager's own bound on the part's start
   * (30 s to say it is ready) ends a part that waits longer.
   */
  static async connectOnceListening(path: string, options: CageManagerClientOptions & { retryMs?: number; giveUpMs?: number } = {}): Promise<CageManagerClient> {
    const { retryMs = 20, giveUpMs = 30_000, ...clientOptions } = options;
    const until = Date.now() + giveUpMs;
    for (;;) {
      try {
        return await CageManagerClient.connect(path, clientOptions);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (!['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(code ?? '') || Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  /** A client on a connection already made (a part handed its connection by the process that made it). */
  static over(socket: Socket, options: CageManagerClientOptions = {}): CageManagerClient {
    return new CageManagerClient(socket, options);
  }

  /** Whether the connection has ended: every request now fails with ManagerConnectionLost; connect anew. */
  get closed(): boolean {
    return this.lost;
  }

  /** Called once when the connection ends (the part reconnects, and asks again what it needs). */
  onClose(listener: () => void): void {
    if (this.lost) queueMicrotask(listener);
    else this.closeListeners.push(listener);
  }

  request(request: RootRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.lost) return reject(new ManagerConnectionLost(false));
      const lane = laneOf(request);
      const queue = this.queued.get(lane) ?? [];
      this.queued.set(lane, queue);
      queue.push({ request, lane, resolve, reject });
      this.sendQueued(lane);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Sends a lane's queued requests while the lane is under the manager's bound. */
  private sendQueued(lane: string): void {
    const queue = this.queued.get(lane);
    while (!this.lost && queue && queue.length > 0) {
      const next = queue[0]!;
      const count = this.inFlight.get(lane) ?? 0;
      if (count >= laneBound(next.request.op, this.options)) return;
      queue.shift();
      const id = this.nextId++;
      this.inFlight.set(lane, count + 1);
      this.waiting.set(id, next);
      this.socket.write(encodeFrame({ id, request: next.request }));
    }
    if (queue?.length === 0) this.queued.delete(lane);
  }

  private fail(): void {
    if (this.lost) return;
    this.lost = true;
    for (const entry of this.waiting.values()) entry.reject(new ManagerConnectionLost(true));
    this.waiting.clear();
    for (const queue of this.queued.values()) for (const entry of queue) entry.reject(new ManagerConnectionLost(false));
    this.queued.clear();
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
