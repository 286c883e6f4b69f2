/**
 * The browser host: an HTTP server on 127.0.0.1 that serves the built renderer, the RPC WebSocket
 * (requires the launch token) and the VNC gateway (requires a one-time ticket).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import { refuseUpgrade, VNC_PATH, type VncGateway } from '../gateway/vncGateway';
import { RpcSession, type RpcHandlers, type RpcSessions } from '../rpc/rpcSession';

export const RPC_PATH = '/rpc';
export const RPC_PROTOCOL = 'cloison.v1';
/** The launch token travels as a second WebSocket subprotocol, never in a URL the server logs. */
export const TOKEN_PROTOCOL_PREFIX = 'cloison-token.';

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
  token: string;
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
  const server = createServer((req, res) => serveStatic(req, res, options.rendererDir, () => csp(origin)));

  server.on('upgrade', (req, socket, head) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      return refuseUpgrade(socket, 404, 'malformed address');
    }
    const reqOrigin = req.headers.origin;
    // Browsers always send Origin; a page from elsewhere must not drive the shell's sockets.
    if (reqOrigin !== undefined && reqOrigin !== origin && !(options.extraOrigins ?? []).includes(reqOrigin)) {
      return refuseUpgrade(socket, 403, 'origin not allowed');
    }
    if (url.pathname === VNC_PATH) return options.gateway.handleUpgrade(req, socket, head);
    if (url.pathname !== RPC_PATH) return refuseUpgrade(socket, 404, 'no such endpoint');
    if (!hasToken(req, options.token)) return refuseUpgrade(socket, 401, 'launch token missing or wrong');
    rpcWss.handleUpgrade(req, socket, head, (ws) => {
      const session = new RpcSession(options.handlers, (text) => ws.readyState === ws.OPEN && ws.send(text), options.log);
      const remove = options.sessions.add(session);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return ws.close(1003, 'RPC frames are text');
        void session.receive(data.toString());
      });
      ws.on('close', remove);
      ws.on('error', remove);
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

function hasToken(req: IncomingMessage, token: string): boolean {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (!offered) return false;
  const given = Buffer.from(offered.slice(TOKEN_PROTOCOL_PREFIX.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
