/**
 * Where the root part is reached: the shell's Unix socket (the kiosk users' group) and the admin
 * socket (the admin group; never content). The browser host (renderer, RPC WebSocket, VNC gateway
 * on 127.0.0.1) is the browser part's (browserPart/). Each registers how it stops.
 */
import type { Server } from 'node:net';
import { listenAdmin, type AdminHandlers } from './admin/adminServer';
import type { RpcHandlers, RpcSessions } from './rpc/rpcSession';
import { listenUnixRpc } from './rpc/unixRpcServer';
import type { Disposables } from './system/disposables';
import type { SupervisorOptions } from './supervisorOptions';

export interface ListenerParts {
  rpcSocketPath: string;
  adminSocketPath: string;
  handlers: RpcHandlers;
  adminHandlers: AdminHandlers;
  sessions: RpcSessions;
  disposables: Disposables;
}

export async function listen(options: SupervisorOptions, parts: ListenerParts): Promise<void> {
  const { handlers, sessions, disposables } = parts;
  const unixServer = await listenUnixRpc(parts.rpcSocketPath, handlers, sessions, options.shellGroup !== undefined ? { group: options.shellGroup } : {});
  disposables.add('shell socket', () => closeServer(unixServer));
  const adminServer = await listenAdmin(parts.adminSocketPath, parts.adminHandlers, options.adminGroup !== undefined ? { group: options.adminGroup } : {});
  disposables.add('admin socket', () => closeServer(adminServer));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
