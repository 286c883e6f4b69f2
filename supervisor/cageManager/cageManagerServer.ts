/**
 * The root cage manager's request socket: the only way the unprivileged `cloison` part reaches
 * root. Three gates, in order, each refusal journaled and answered (or the connection closed):
 *
 *   1. the peer: the kernel's credentials of the connecting process (SO_PEERCRED) must be the one
 *      uid the manager serves; the socket file is that user's alone (0600) besides;
 *   2. the frame and its schema: length-prefixed JSON within the size limit, `{ id, request }`,
 *      the request one of requests.ts's closed schemas;
 *   3. the policy: requestAuthorization.ts, against the policy running at that moment.
 *
 * Only then does the request reach its executor. The journal records refusals with the request's
 * op and the reason, never its other fields (a PAM request carries a password); a part refused
 * without end gets a bounded number of records (refusalJournal.ts), each refusal still answered.
 *
 * Requests in flight are bounded per connection and per lane — one level's one op (`laneOf`) — so a
 * level whose requests hang (a cage that stopped its own X server holds each clipboard read to its
 * time limit) never takes a slot another level's requests need. A request past its lane's bound is
 * answered BUSY at once and the connection goes on: the part is the one peer, and cutting its one
 * connection would fail every level's requests. Only what a well-behaved part never sends (a frame
 * over the limit, not JSON, without an id) closes the connection.
 */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { CloisonError, type ErrorCode } from '../../shared/errors';
import type { AuditJournal } from '../audit/auditJournal';
import { peerCredentials, type PeerCredentials } from '../sandbox/peerCredentials';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameError, FrameReader } from '../sandbox/frames';
import { refusePassedDescriptorsOrSay } from '../system/refusePassedDescriptors';
import { authorizeRootRequest, type AuthorizationContext } from './requestAuthorization';
import { RefusalJournal, REFUSED_KIND, type RefusalGate, type RefusalJournalOptions } from './refusalJournal';
import { rootRequestSchema, type RequestOf, type RootOp } from './requests';

export type RootExecutors = { [O in RootOp]?: (req: RequestOf<O>, peer: PeerCredentials) => Promise<unknown> };

export interface CageManagerServerOptions {
  socketPath: string;
  /** The `cloison` system user: the only peer served. */
  peerUid: number;
  peerGid: number;
  authorization: AuthorizationContext;
  journal: AuditJournal;
  executors: RootExecutors;
  maxFrameBytes?: number;
  /** Requests one connection may have in flight in one lane (`laneOf`); more are answered BUSY. */
  maxInFlight?: number;
  /**
   * Ops whose request stays pending for as long as what it watches (`cage.wait`: until the cage
   * ends): each gets a lane of its own per level, bounded by `maxLongPending`, so the waits a part
   * keeps never count against the bound of the requests that end. Default: `cage.wait`.
   */
  longPendingOps?: ReadonlySet<string>;
  maxLongPending?: number;
  /** Connections of the part open at once; one more is closed at once (DEFAULT_MAX_CONNECTIONS). */
  maxConnections?: number;
  /** How many refusals are journaled one by one in a window (refusalJournal.ts); the rest are counted. */
  refusalJournal?: RefusalJournalOptions;
}

export const DEFAULT_MAX_IN_FLIGHT = 16;
/** Both ends default to it, so a client and a server built without options agree. */
export const DEFAULT_LONG_PENDING_OPS: ReadonlySet<string> = new Set(['cage.wait']);
/** A part waits once per running cage; a few more leave room for a wait that is ending. */
export const DEFAULT_MAX_LONG_PENDING = 4;
/**
 * The part needs one connection (a few while one it lost is still closing here); each costs root a
 * descriptor for as long as the part keeps it. Unbounded, a part filled the manager's table: its
 * journal could not write the part's next refusal (attacks/managerConnectionFlood.attack.test.ts).
 */
export const DEFAULT_MAX_CONNECTIONS = 32;

/**
 * The lane a request counts in: its level and op (the level-less ops, their op alone). Finite: the
 * levels the policy names times the ops, for an authorized request (the server counts nothing else).
 */
export function laneOf(request: { op: string; level?: unknown }): string {
  return typeof request.level === 'string' ? `${request.op} ${request.level}` : request.op;
}

/** The bound of a request's lane, the same on both ends (the client queues past it). */
export function laneBound(op: string, limits: Pick<CageManagerServerOptions, 'maxInFlight' | 'longPendingOps' | 'maxLongPending'>): number {
  return (limits.longPendingOps ?? DEFAULT_LONG_PENDING_OPS).has(op) ? (limits.maxLongPending ?? DEFAULT_MAX_LONG_PENDING) : (limits.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
}

/** One connection's count per lane, and whether the lane's current burst of BUSY is journaled. */
type Lanes = Map<string, { inFlight: number; journaledBurst: boolean }>;

const envelopeSchema = z.object({ id: z.number().int().min(0).max(2 ** 31), request: z.unknown() }).strict();

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: ErrorCode; message: string } };

export { REFUSED_KIND };

export class CageManagerServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Whether the current burst of connections past the bound is journaled (once until under it again). */
  private connectionsBurstJournaled = false;
  private readonly refusals: RefusalJournal;

  constructor(private readonly options: CageManagerServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
    this.refusals = new RefusalJournal(options.journal, options.refusalJournal);
  }

  listen(): Promise<void> {
    const { socketPath, peerUid, peerGid } = this.options;
    rmSync(socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        // Its peer is the `cloison` part, the very process a compromised part is: no descriptor from
        // it (refusePassedDescriptors.ts), set while root alone may connect, then the mode, then the owner.
        refusePassedDescriptorsOrSay(this.server);
        chmodSync(socketPath, 0o600);
        chownSync(socketPath, peerUid, peerGid);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.refusals.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Journals a refusal, within refusalJournal.ts's bound (the request is refused either way). */
  private refuse(peer: Partial<PeerCredentials>, gate: RefusalGate, op: string, reason: string): void {
    this.refusals.record(gate, { actor: peer.uid === this.options.peerUid ? 'cloison' : `uid:${peer.uid ?? '?'}`, op, reason, peerUid: peer.uid ?? null, peerPid: peer.pid ?? null });
  }

  private accept(socket: Socket): void {
    let peer: PeerCredentials;
    try {
      peer = peerCredentials(socket);
    } catch (err) {
      this.refuse({}, 'peer', '(connection)', `peer credentials unreadable: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    if (peer.uid !== this.options.peerUid) {
      this.refuse(peer, 'peer', '(connection)', `peer uid ${peer.uid} is not the cloison user's (${this.options.peerUid})`);
      socket.destroy();
      return;
    }
    const maxConnections = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (this.sockets.size >= maxConnections) {
      if (!this.connectionsBurstJournaled) this.refuse(peer, 'connections', '(connection)', `${maxConnections} connections of the cloison part already open: this one is closed (journaled once until fewer are open)`);
      this.connectionsBurstJournaled = true;
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size < maxConnections) this.connectionsBurstJournaled = false;
    });
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader(this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    const lanes: Lanes = new Map();
    socket.on('data', (bytes: Buffer) => {
      let frames: unknown[];
      try {
        frames = reader.push(bytes);
      } catch (err) {
        this.refuse(peer, 'frame', '(frame)', (err as FrameError).message);
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        void this.handle(frame, peer, lanes).then((reply) => {
          if (!reply) return socket.destroy();
          if (socket.destroyed) return;
          // A peer that does not read its answers is read no further until it does: what it sends
          // past the bound costs an answer each, and those wait in the kernel's buffer, not in ours.
          if (!socket.write(encodeFrame(reply, Infinity)) && !socket.isPaused()) {
            socket.pause();
            socket.once('drain', () => socket.resume());
          }
        });
      }
    });
  }

  /** The reply to one frame, or null when the frame has no id to answer (the connection closes). */
  private async handle(frame: unknown, peer: PeerCredentials, lanes: Lanes): Promise<Reply | null> {
    const envelope = envelopeSchema.safeParse(frame);
    if (!envelope.success) {
      this.refuse(peer, 'envelope', '(envelope)', 'a frame is { id, request }');
      return null;
    }
    const { id } = envelope.data;
    const raw = envelope.data.request as { op?: unknown } | null;
    const op = typeof raw?.op === 'string' ? raw.op : '(none)';
    const parsed = rootRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const reason = `not a root request: ${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'invalid'}`;
      this.refuse(peer, 'schema', op, reason);
      return { id, ok: false, error: { code: 'BAD_REQUEST', message: reason } };
    }
    const request = parsed.data;
    const decision = authorizeRootRequest(request, this.options.authorization);
    if (!decision.allowed) {
      this.refuse(peer, 'policy', op, decision.reason);
      return { id, ok: false, error: { code: 'POLICY_DENIED', message: decision.reason } };
    }
    const execute = this.options.executors[request.op] as ((req: typeof request, peer: PeerCredentials) => Promise<unknown>) | undefined;
    if (!execute) {
      this.refuse(peer, 'executor', op, 'no executor for this request in this manager');
      return { id, ok: false, error: { code: 'INTERNAL', message: `${request.op} is not available` } };
    }
    // Counted from here (an authorized request, in a lane the policy's levels bound) until its
    // executor ends, before its answer is written: a client that sends a lane's next request only
    // on an answer (cageManagerClient.ts) never meets BUSY.
    const lane = laneOf(request);
    const bound = laneBound(request.op, this.options);
    const slot = lanes.get(lane) ?? { inFlight: 0, journaledBurst: false };
    lanes.set(lane, slot);
    if (slot.inFlight >= bound) {
      const reason = `busy: ${bound} requests ${lane} in flight on this connection; this one is not run, ask again when one is answered`;
      if (!slot.journaledBurst) this.refuse(peer, 'busy', op, `${reason} (journaled once until the lane is under its bound again)`);
      slot.journaledBurst = true;
      return { id, ok: false, error: { code: 'BUSY', message: reason } };
    }
    slot.inFlight++;
    try {
      return { id, ok: true, result: (await execute(request, peer)) ?? null };
    } catch (err) {
      // What an executor itself refuses (a link swapped in after the check, a device for an image) is journaled as the policy's refusals are.
      if (err instanceof CloisonError && err.code === 'POLICY_DENIED') this.refuse(peer, 'executor', op, err.message);
      return { id, ok: false, error: { code: err instanceof CloisonError ? err.code : 'INTERNAL', message: (err as Error).message.slice(0, 500) } };
    } finally {
      slot.inFlight--;
      if (slot.inFlight < bound) slot.journaledBurst = false;
      if (slot.inFlight === 0 && !slot.journaledBurst) lanes.delete(lane);
    }
  }
}
