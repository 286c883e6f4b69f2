/**
 * One RPC peer (a shell), whatever the transport: parses and validates each frame against the
 * shared contract, dispatches it, and sends the validated result or a typed error. Bad input gets
 * a clear error and the connection goes on.
 */
import { randomBytes } from 'node:crypto';
import { CloisonError } from '../../shared/errors';
import {
  isRpcMethod,
  MAX_RPC_FRAME_BYTES,
  requestFrameSchema,
  rpcEvents,
  rpcMethods,
  type EventFrame,
  type ResponseFrame,
  type RpcEvent,
  type RpcEventData,
  type RpcMethod,
  type RpcResult,
} from '../../shared/rpc';

/** Who is asking: the shell session (tickets are bound to it) and how it reached the supervisor. */
export interface RpcContext {
  session: string;
  transport: 'unix' | 'websocket';
  /** The peer's uid on the Unix socket (SO_PEERCRED), when it could be read. */
  peerUid?: number;
}

export type RpcHandlers = {
  [M in RpcMethod]: (params: ReturnType<(typeof rpcMethods)[M]['params']['parse']>, context: RpcContext) => Promise<RpcResult<M>> | RpcResult<M>;
};

export class RpcSession {
  readonly context: RpcContext;

  constructor(
    private readonly handlers: RpcHandlers,
    private readonly send: (text: string) => void,
    private readonly log?: (msg: string, fields?: Record<string, unknown>) => void,
    context: Partial<RpcContext> = {},
  ) {
    this.context = { session: context.session ?? randomBytes(12).toString('base64url'), transport: context.transport ?? 'unix', ...(context.peerUid !== undefined ? { peerUid: context.peerUid } : {}) };
  }

  async receive(text: string): Promise<void> {
    if (Buffer.byteLength(text) > MAX_RPC_FRAME_BYTES) return this.reply({ type: 'response', id: -1, ok: false, error: { code: 'LIMIT_EXCEEDED', message: `frame over ${MAX_RPC_FRAME_BYTES} bytes` } });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.reply({ type: 'response', id: -1, ok: false, error: { code: 'BAD_REQUEST', message: 'frame is not JSON' } });
    }
    const frame = requestFrameSchema.safeParse(json);
    if (!frame.success) {
      const id = typeof (json as { id?: unknown })?.id === 'number' ? (json as { id: number }).id : -1;
      return this.reply({ type: 'response', id, ok: false, error: { code: 'BAD_REQUEST', message: `bad request frame: ${frame.error.issues[0]?.message ?? 'invalid'}` } });
    }
    const { id, method, params } = frame.data;
    if (!isRpcMethod(method)) return this.reply({ type: 'response', id, ok: false, error: { code: 'UNKNOWN_METHOD', message: `unknown method "${method.slice(0, 64)}"` } });
    const parsed = rpcMethods[method].params.safeParse(params ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.reply({ type: 'response', id, ok: false, error: { code: 'BAD_REQUEST', message: `${method}: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}` } });
    }
    try {
      const handler = this.handlers[method] as (p: unknown, c: RpcContext) => Promise<unknown> | unknown;
      const result = rpcMethods[method].result.parse(await handler(parsed.data, this.context));
      this.reply({ type: 'response', id, ok: true, result });
    } catch (err) {
      if (err instanceof CloisonError) return this.reply({ type: 'response', id, ok: false, error: { code: err.code, message: err.message, ...(err.text ? { text: err.text } : {}) } });
      this.log?.('rpc handler failed', { method, error: (err as Error).message });
      this.reply({ type: 'response', id, ok: false, error: { code: 'INTERNAL', message: 'internal error' } });
    }
  }

  emit<E extends RpcEvent>(name: E, data: RpcEventData<E>): void {
    const frame: EventFrame = { type: 'event', name, data: rpcEvents[name].parse(data) };
    this.send(JSON.stringify(frame));
  }

  private reply(frame: ResponseFrame): void {
    this.send(JSON.stringify(frame));
  }
}

/** Fans events out to every connected shell. */
export class RpcSessions {
  private readonly sessions = new Set<RpcSession>();

  add(session: RpcSession): () => void {
    this.sessions.add(session);
    return () => this.sessions.delete(session);
  }

  broadcast<E extends RpcEvent>(name: E, data: RpcEventData<E>): void {
    for (const s of this.sessions) s.emit(name, data);
  }

  get size(): number {
    return this.sessions.size;
  }
}
