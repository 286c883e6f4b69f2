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
 * op and the reason, never its other fields (a PAM request carries a password).
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
  /** Requests one connection may have in flight; more closes it. */
  maxInFlight?: number;
}

const envelopeSchema = z.object({ id: z.number().int().min(0).max(2 ** 31), request: z.unknown() }).strict();

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: ErrorCode; message: string } };

export const REFUSED_KIND = 'rootRequest.refused';

export class CageManagerServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: CageManagerServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
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
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Journals a refusal; a journal that cannot write changes nothing (the request is refused either way). */
  private refuse(peer: Partial<PeerCredentials>, op: string, reason: string): void {
    try {
      this.options.journal.append(REFUSED_KIND, peer.uid === this.options.peerUid ? 'cloison' : `uid:${peer.uid ?? '?'}`, {
        op: op.slice(0, 64),
        reason: reason.slice(0, 300),
        peerUid: peer.uid ?? null,
        peerPid: peer.pid ?? null,
      });
    } catch {
      /* JOURNAL_UNAVAILABLE: counted by the journal itself */
    }
  }

  private accept(socket: Socket): void {
    let peer: PeerCredentials;
    try {
      peer = peerCredentials(socket);
    } catch (err) {
      this.refuse({}, '(connection)', `peer credentials unreadable: ${(err as Error).message}`);
      socket.destroy();
      return;
    }
    if (peer.uid !== this.options.peerUid) {
      this.refuse(peer, '(connection)', `peer uid ${peer.uid} is not the cloison user's (${this.options.peerUid})`);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new FrameReader(this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    let inFlight = 0;
    socket.on('data', (bytes: Buffer) => {
      let frames: unknown[];
      try {
        frames = reader.push(bytes);
      } catch (err) {
        this.refuse(peer, '(frame)', (err as FrameError).message);
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (++inFlight > (this.options.maxInFlight ?? 16)) {
          this.refuse(peer, '(frame)', 'too many requests in flight');
          socket.destroy();
          return;
        }
        void this.handle(frame, peer).then((reply) => {
          inFlight--;
          if (reply && !socket.destroyed) socket.write(encodeFrame(reply, Infinity));
          else if (!reply) socket.destroy();
        });
      }
    });
  }

  /** The reply to one frame, or null when the frame has no id to answer (the connection closes). */
  private async handle(frame: unknown, peer: PeerCredentials): Promise<Reply | null> {
    const envelope = envelopeSchema.safeParse(frame);
    if (!envelope.success) {
      this.refuse(peer, '(envelope)', 'a frame is { id, request }');
      return null;
    }
    const { id } = envelope.data;
    const raw = envelope.data.request as { op?: unknown } | null;
    const op = typeof raw?.op === 'string' ? raw.op : '(none)';
    const parsed = rootRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const reason = `not a root request: ${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'invalid'}`;
      this.refuse(peer, op, reason);
      return { id, ok: false, error: { code: 'BAD_REQUEST', message: reason } };
    }
    const request = parsed.data;
    const decision = authorizeRootRequest(request, this.options.authorization);
    if (!decision.allowed) {
      this.refuse(peer, op, decision.reason);
      return { id, ok: false, error: { code: 'POLICY_DENIED', message: decision.reason } };
    }
    const execute = this.options.executors[request.op] as ((req: typeof request, peer: PeerCredentials) => Promise<unknown>) | undefined;
    if (!execute) {
      this.refuse(peer, op, 'no executor for this request in this manager');
      return { id, ok: false, error: { code: 'INTERNAL', message: `${request.op} is not available` } };
    }
    try {
      return { id, ok: true, result: (await execute(request, peer)) ?? null };
    } catch (err) {
      // What an executor itself refuses (a link swapped in after the check, a device for an image) is journaled as the policy's refusals are.
      if (err instanceof CloisonError && err.code === 'POLICY_DENIED') this.refuse(peer, op, err.message);
      return { id, ok: false, error: { code: err instanceof CloisonError ? err.code : 'INTERNAL', message: (err as Error).message.slice(0, 500) } };
    }
  }
}
