/**
 * ShellApi for the browser host: RPC over a WebSocket to the supervisor that served this page,
 * admitted by a single-use launch secret taken from the URL fragment (never sent in a request
 * line), or, after a reload, by the single-use resume token the supervisor gave this tab.
 */
import {
  rpcEvents,
  rpcMethods,
  serverFrameSchema,
  isRpcEvent,
  type RpcEvent,
  type RpcEventData,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
} from '../../shared/rpc';
import { RpcCallError, type ShellApi } from './shellApi';

const RPC_PROTOCOL = 'cloison.v1';

export function launchSecretFromLocation(loc: Location): string | null {
  const m = /(?:^#|&)launch=([A-Za-z0-9_-]+)/.exec(loc.hash);
  return m?.[1] ?? null;
}

export type ShellCredential = { launch: string } | { resume: string };

export async function connectBrowserTransport(origin: string, credential: ShellCredential, keepResume: (token: string) => void): Promise<ShellApi> {
  const wsOrigin = origin.replace(/^http/, 'ws');
  const offered = 'launch' in credential ? `cloison-launch.${credential.launch}` : `cloison-resume.${credential.resume}`;
  const ws = new WebSocket(`${wsOrigin}/rpc`, [RPC_PROTOCOL, offered]);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: RpcMethod }>();
  const listeners = new Map<RpcEvent, Set<(data: never) => void>>();
  const disconnectListeners: Array<(code?: number) => void> = [];
  let nextId = 1;
  // Each level's viewer origin, as the supervisor serves it (session.describe).
  let viewerOrigins: Record<string, string> = {};

  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('cannot reach the supervisor (launch secret already used, or supervisor gone)'));
  });
  ws.onclose = (ev) => {
    for (const p of pending.values()) p.reject(new Error('supervisor connection closed'));
    pending.clear();
    for (const l of disconnectListeners) l(ev.code);
  };
  ws.onmessage = (ev) => {
    let frame;
    try {
      frame = serverFrameSchema.parse(JSON.parse(String(ev.data)));
    } catch {
      return; // a malformed frame from the supervisor is ignored, not trusted
    }
    if (frame.type === 'event') {
      if (!isRpcEvent(frame.name)) return;
      const parsed = rpcEvents[frame.name].safeParse(frame.data);
      if (!parsed.success) return;
      if (frame.name === 'onSession') keepResume((parsed.data as { resume: string }).resume);
      for (const l of listeners.get(frame.name) ?? []) (l as (d: unknown) => void)(parsed.data);
      return;
    }
    const p = pending.get(frame.id);
    if (!p) return;
    pending.delete(frame.id);
    if (frame.ok) {
      const result = rpcMethods[p.method].result.safeParse(frame.result);
      if (result.success) {
        if (p.method === 'session.describe') viewerOrigins = (result.data as { viewerOrigins: Record<string, string> }).viewerOrigins;
        p.resolve(result.data);
      }
      else p.reject(new RpcCallError('BAD_RESPONSE', `${p.method}: malformed response`));
    } else p.reject(new RpcCallError(frame.error.code, frame.error.message, frame.error.text));
  };

  return {
    call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, method });
        ws.send(JSON.stringify({ type: 'request', id, method, params }));
      });
    },
    on<E extends RpcEvent>(event: E, listener: (data: RpcEventData<E>) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (data: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (data: never) => void);
    },
    vncUrl: (path, level, ticket) => `${wsOrigin}${path}?level=${encodeURIComponent(level)}&ticket=${encodeURIComponent(ticket)}`,
    viewerOrigin: (level) => viewerOrigins[level] ?? 'null',
    onDisconnect: (l) => disconnectListeners.push(l),
  };
}
