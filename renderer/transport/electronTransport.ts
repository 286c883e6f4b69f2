/**
 * ShellApi for the Electron host: calls go through the preload's named functions to the main
 * process, which relays them to the supervisor's Unix socket. Results are validated here again.
 */
import { bilingualSchema } from '../../shared/bilingual';
import type { PreloadApi } from '../../shared/preloadApi';
import { isRpcEvent, rpcEvents, rpcMethods, type RpcEvent, type RpcEventData, type RpcMethod, type RpcParams, type RpcResult } from '../../shared/rpc';
import { electronViewerOrigin } from '../../shared/viewerProtocol';
import { RpcCallError, type ShellApi } from './shellApi';

export async function connectElectronTransport(api: PreloadApi): Promise<ShellApi> {
  const origin = await api.gatewayOrigin();
  const wsOrigin = origin.replace(/^http/, 'ws');
  const listeners = new Map<RpcEvent, Set<(data: never) => void>>();
  api.onEvent((name, data) => {
    if (!isRpcEvent(name)) return;
    const parsed = rpcEvents[name].safeParse(data);
    if (!parsed.success) return;
    for (const l of listeners.get(name) ?? []) (l as (d: unknown) => void)(parsed.data);
  });
  return {
    async call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
      try {
        return rpcMethods[method].result.parse(await api.call(method, params)) as RpcResult<M>;
      } catch (err) {
        const e = err as { code?: string; message?: string; text?: unknown };
        const text = bilingualSchema.safeParse(e.text);
        throw new RpcCallError(e.code ?? 'INTERNAL', e.message ?? String(err), text.success ? text.data : undefined);
      }
    },
    on<E extends RpcEvent>(event: E, listener: (data: RpcEventData<E>) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (data: never) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (data: never) => void);
    },
    vncUrl: (path, level, ticket) => `${wsOrigin}${path}?level=${encodeURIComponent(level)}&ticket=${encodeURIComponent(ticket)}`,
    viewerOrigin: electronViewerOrigin,
    onDisconnect: () => {},
  };
}
