/**
 * The supervisor's HTTP server on 127.0.0.1: the VNC gateway (a one-time ticket per connection)
 * always; the browser shell — the built renderer and the RPC WebSocket — only when it is in use
 * (`shell: true`), so a deployment whose shell is Electron has no RPC on a TCP port at all.
 *
 * Every WebSocket must come from an exact, allowed Origin (a page of ours, or Electron's
 * app://cloison): a request with none is refused, so no local process can drive these sockets
 * without pretending to be a browser page of ours. The RPC admits a shell that presents a launch
 * secret or its resume token (shellLaunches.ts), each single use.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import { refuseUpgrade, VNC_PATH, type VncGateway } from '../gateway/vncGateway';
import { RpcSession, type RpcHandlers, type RpcSessions } from '../rpc/rpcSession';
import type { ShellLaunches } from './shellLaunches';

export const RPC_PATH = '/rpc';
export const RPC_PROTOCOL = 'cloison.v1';
/** Launch secrets and resume tokens travel as a second WebSocket subprotocol, never in a URL. */
export const LAUNCH_PROTOCOL_PREFIX = 'cloison-launch.';
export const RESUME_PROTOCOL_PREFIX = 'cloison-resume.';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export interface BrowserHostOptions {
  rendererDir: string | null;
  /** Serve the browser shell (renderer and RPC WebSocket); off, only the VNC gateway answers. */
  shell: boolean;
  launches: ShellLaunches;
  handlers: RpcHandlers;
  sessions: RpcSessions;
  gateway: VncGateway;
  port?: number;
  /** Extra origins allowed to open WebSockets (the Electron app's app://cloison). */
  extraOrigins?: string[];
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface BrowserHost {
  server: Server;
  port: number;
  origin: string;
  close(): Promise<void>;
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const rpcWss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_RPC_FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(RPC_PROTOCOL) ? RPC_PROTOCOL : false),
  });
  let origin = '';
  const server = createServer((req, res) => serveStatic(req, res, options.shell ? options.rendererDir : null, () => csp(origin)));

  server.on('upgrade', (req, socket, head) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return refuseUpgrade(socket, 404, 'malformed address');
    }
    const reqOrigin = req.headers.origin;
    // Exact origins only, and one is required: a page from elsewhere, or a process that is no
    // page at all, must not drive the shell's sockets.
    const allowed = [...(options.shell ? [origin] : []), ...(options.extraOrigins ?? [])];
    if (reqOrigin === undefined || !allowed.includes(reqOrigin)) return refuseUpgrade(socket, 403, 'origin missing or not allowed');
    if (url.pathname === VNC_PATH) return options.gateway.handleUpgrade(req, socket, head);
    if (url.pathname !== RPC_PATH || !options.shell) return refuseUpgrade(socket, 404, 'no such endpoint');
    const admission = admit(req, options.launches);
    if (!admission) return refuseUpgrade(socket, 401, 'launch secret or resume token missing, used or wrong');
    rpcWss.handleUpgrade(req, socket, head, (ws) => {
      const session = new RpcSession(options.handlers, (text) => ws.readyState === ws.OPEN && ws.send(text), options.log, { session: admission.session, transport: 'websocket' });
      const remove = options.sessions.add(session);
      const release = options.launches.connected(admission.session, () => ws.close(4000, 'this shell was opened again elsewhere'));
      const gone = () => {
        remove();
        release();
      };
      session.emit('onSession', admission);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return ws.close(1003, 'RPC frames are text');
        void session.receive(data.toString());
      });
      ws.on('close', gone);
      ws.on('error', gone);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    server,
    port,
    origin,
    close: () =>
      new Promise((resolve) => {
        for (const ws of rpcWss.clients) ws.terminate();
        rpcWss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Spends the launch secret or resume token the request offers (lookups by exact key: no timing leak of a prefix). */
function admit(req: IncomingMessage, launches: ShellLaunches) {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const launch = offered.find((p) => p.startsWith(LAUNCH_PROTOCOL_PREFIX));
  if (launch) return launches.launch(launch.slice(LAUNCH_PROTOCOL_PREFIX.length));
  const resume = offered.find((p) => p.startsWith(RESUME_PROTOCOL_PREFIX));
  if (resume) return launches.resume(resume.slice(RESUME_PROTOCOL_PREFIX.length));
  return null;
}

export function csp(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | null, policy: () => string): void {
  const headers = {
    'Content-Security-Policy': policy(),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, headers).end();
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
  } catch {
    res.writeHead(400, headers).end(); // malformed escapes: refused, the server goes on
    return;
  }
  if (!root) {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('renderer not built: run npm run build\n');
    return;
  }
  const relative = pathname === '/' ? 'index.html' : pathname.slice(1);
  const file = normalize(join(root, relative));
  if (!file.startsWith(normalize(root) + sep) || relative.includes('\0')) {
    res.writeHead(404, headers).end();
    return;
  }
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    const body = readFileSync(file);
    res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404, headers).end();
  }
}
