/**
 * Where the supervisor is reached: the shell's Unix socket (the kiosk users' group), the admin
 * socket (the admin group; never content) and the browser host (renderer, RPC WebSocket, VNC
 * gateway on 127.0.0.1). Each registers how it stops.
 */
import type { Server } from 'node:net';
import { listenAdmin, type AdminHandlers } from './admin/adminServer';
import type { VncGateway } from './gateway/vncGateway';
import { startBrowserHost, type BrowserHost } from './host/browserHost';
import type { ShellLaunches } from './host/shellLaunches';
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
  launches: ShellLaunches;
  gateway: VncGateway;
  levels: string[];
  disposables: Disposables;
}

export async function listen(options: SupervisorOptions, parts: ListenerParts): Promise<BrowserHost> {
  const { handlers, sessions, disposables } = parts;
  const unixServer = await listenUnixRpc(parts.rpcSocketPath, handlers, sessions, options.shellGroup !== undefined ? { group: options.shellGroup } : {});
  disposables.add('shell socket', () => closeServer(unixServer));
  const adminServer = await listenAdmin(parts.adminSocketPath, parts.adminHandlers, options.adminGroup !== undefined ? { group: options.adminGroup } : {});
  disposables.add('admin socket', () => closeServer(adminServer));
  const host = await startBrowserHost({
    rendererDir: options.rendererDir,
    shell: options.browserShell ?? false,
    launches: parts.launches,
    levels: parts.levels,
    handlers,
    sessions,
    gateway: parts.gateway,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.extraOrigins ? { extraOrigins: options.extraOrigins } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  disposables.add('browser host', () => host.close());
  return host;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
