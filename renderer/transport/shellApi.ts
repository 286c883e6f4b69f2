/**
 * What the renderer needs from its host, whatever the host: RPC calls, supervisor events, and the
 * address of the VNC gateway. The browser host implements it over a WebSocket with the launch token;
 * Electron's preload implements it over IPC.
 */
import type { RpcEvent, RpcEventData, RpcMethod, RpcParams, RpcResult } from '../../shared/rpc';

export interface ShellApi {
  call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  on<E extends RpcEvent>(event: E, listener: (data: RpcEventData<E>) => void): () => void;
  /** ws:// URL of the gateway for one cage connection. */
  vncUrl(path: string, level: string, ticket: string): string;
  /** The origin a level's viewer frame loads from: one per level, never the shell's own. */
  viewerOrigin(level: string): string;
  /** Called when the RPC link drops, so the shell can show it (with the WebSocket's close code). */
  onDisconnect(listener: (code?: number) => void): void;
}

export class RpcCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The supervisor's message in both languages, when it gave both. */
    readonly text?: { fr: string; en: string },
  ) {
    super(message);
  }
}
