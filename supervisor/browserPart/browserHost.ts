/**
 * The browser part's HTTP server on 127.0.0.1 (it runs as `cloison`, with no capability): the VNC gateway (a one-time ticket per connection)
 * always; the browser shell — the built renderer and the RPC WebSocket — only when it is in use
 * (`shell: true`), so a deployment whose shell is Electron has no RPC on a TCP port at all.
 *
 * Every WebSocket must come from an exact, allowed Origin (a page of ours, or Electron's
 * app://cloison): a request with none is refused, so no local process can drive these sockets
 * without pretending to be a browser page of ours. The RPC admits a shell that presents a launch
 * secret or its resume token (the root part spends it: host/shellLaunches.ts), each single use; its
 * frames are relayed to the root part's RPC session and back (ShellRpcLink).
 *
 * Each level's viewer is served from an origin of its own — another loopback address, so another
 * site, so another renderer process under Chromium's site isolation — which may open the VNC
 * gateway and nothing else: never the RPC, never the shell's page (viewerProtocol.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import { refuseUpgrade, VNC_PATH, type VncGateway } from '../gateway/vncGateway';
import type { StaticFiles } from './staticFiles';
import { electronViewerOrigin, VIEWER_PAGE } from '../../shared/viewerPages';

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

/** A shell's RPC connection, relayed to the root part (browserPart/shellRelay.ts holds its session). */
export interface ShellRpcLink {
  /** Spends the launch secret or resume token offered: a connection number, or null (refused). */
  admit(offered: { launch?: string; resume?: string }): Promise<number | null>;
  /** The WebSocket is open: frames for it go to `send`; the root part may close it (a resume elsewhere). */
  opened(conn: number, ws: { send(text: string): void; close(code: number, reason: string): void }): void;
  frame(conn: number, text: string): void;
  closed(conn: number): void;
}

export interface BrowserHostOptions {
  /** The built renderer's files, read before the part dropped its privileges; null when not built. */
  files: StaticFiles | null;
  /** Serve the browser shell (renderer and RPC WebSocket); off, only the VNC gateway answers. */
  shell: boolean;
  rpc: ShellRpcLink;
  /** A shell's largest RPC frame (shared/rpc.ts's MAX_RPC_FRAME_BYTES, given by the root part: no zod here). */
  maxRpcFrameBytes: number;
  /** The policy's levels: one viewer origin each. */
  levels: string[];
  gateway: VncGateway;
  /** Each viewer origin's port wanted (a restarted part keeps its origins: the shells reconnect). */
  viewerPorts?: Record<string, number>;
  port?: number;
  /** Extra origins allowed to open WebSockets (the Electron app's app://cloison). */
  extraOrigins?: string[];
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface BrowserHost {
  server: Server;
  port: number;
  origin: string;
  /** Each level's viewer origin (empty when the browser shell is off). */
  viewerOrigins: Record<string, string>;
  close(): Promise<void>;
}

/** A level's viewer listens on a loopback address of its own: 127.0.0.10, .11, … */
const viewerAddress = (index: number) => `127.0.0.${10 + index}`;

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const rpcWss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxRpcFrameBytes,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(RPC_PROTOCOL) ? RPC_PROTOCOL : false),
  });
  let origin = '';
  const viewerOrigins: Record<string, string> = {};
  const server = createServer((req, res) => serveStatic(req, res, options.shell ? options.files : null, () => csp(origin, Object.values(viewerOrigins)), 'shell'));

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
    const extra = options.extraOrigins ?? [];
    // Electron's shell (app://cloison) brings its viewers' app:// hosts with it.
    const electronLevels = extra.some((o) => o.startsWith('app://')) ? options.levels : [];
    const shellOrigins = [...(options.shell ? [origin] : []), ...extra];
    const allowed = url.pathname === VNC_PATH ? [...shellOrigins, ...viewerOriginsOf(url.searchParams.get('level'), viewerOrigins, electronLevels)] : shellOrigins;
    if (reqOrigin === undefined || !allowed.includes(reqOrigin)) return refuseUpgrade(socket, 403, 'origin missing or not allowed');
    if (url.pathname === VNC_PATH) return options.gateway.handleUpgrade(req, socket, head);
    if (url.pathname !== RPC_PATH || !options.shell) return refuseUpgrade(socket, 404, 'no such endpoint');
    void options.rpc.admit(offeredSecrets(req)).then(
      (conn) => {
        if (conn === null) return refuseUpgrade(socket, 401, 'launch secret or resume token missing, used or wrong');
        if (socket.destroyed) return options.rpc.closed(conn);
        rpcWss.handleUpgrade(req, socket, head, (ws) => {
          options.rpc.opened(conn, { send: (text) => ws.readyState === ws.OPEN && ws.send(text), close: (code, reason) => ws.close(code, reason) });
          const gone = () => options.rpc.closed(conn);
          ws.on('message', (data, isBinary) => {
            if (isBinary) return ws.close(1003, 'RPC frames are text');
            options.rpc.frame(conn, data.toString());
          });
          ws.on('close', gone);
          ws.on('error', gone);
        });
      },
      () => refuseUpgrade(socket, 503, 'the supervisor did not answer'),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  // One server per level's viewer origin: it serves the viewer page and its assets, nothing else.
  const viewerServers: Server[] = [];
  if (options.shell) {
    for (const [index, level] of options.levels.entries()) {
      const viewer = createServer((req, res) => serveStatic(req, res, options.files, () => viewerCsp(origin), 'viewer'));
      const at = viewerAddress(index);
      const listen = (p: number) =>
        new Promise<void>((resolve, reject) => {
          viewer.once('error', reject);
          viewer.listen(p, at, () => resolve());
        });
      await listen(options.viewerPorts?.[level] ?? port).catch(() => listen(0));
      viewerOrigins[level] = `http://${at}:${(viewer.address() as AddressInfo).port}`;
      viewerServers.push(viewer);
    }
  }
  return {
    server,
    port,
    origin,
    viewerOrigins,
    close: () =>
      new Promise((resolve) => {
        for (const ws of rpcWss.clients) ws.terminate();
        rpcWss.close();
        for (const v of viewerServers) {
          v.closeAllConnections();
          v.close();
        }
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The viewer origins that may open the gateway for `level`: that level's own only (its browser
 * viewer origin, or Electron's app:// host named after it). A ticket is bound to its level; so is
 * the frame that may spend it: one level's ticket handed to the other level's frame — by any
 * mistake of the shell page's (its frames are made before it knows which level is whose:
 * earlyViewerFrames.ts) — opens nothing, and no cage's bytes reach the other level's renderer.
 */
export function viewerOriginsOf(level: string | null, viewerOrigins: Record<string, string>, electronLevels: readonly string[]): string[] {
  if (level === null) return [];
  return [...(Object.hasOwn(viewerOrigins, level) ? [viewerOrigins[level]!] : []), ...(electronLevels.includes(level) ? [electronViewerOrigin(level)] : [])];
}

/** The launch secret or resume token the request offers (the root part spends it). */
function offeredSecrets(req: IncomingMessage): { launch?: string; resume?: string } {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const launch = offered.find((p) => p.startsWith(LAUNCH_PROTOCOL_PREFIX));
  if (launch) return { launch: launch.slice(LAUNCH_PROTOCOL_PREFIX.length) };
  const resume = offered.find((p) => p.startsWith(RESUME_PROTOCOL_PREFIX));
  if (resume) return { resume: resume.slice(RESUME_PROTOCOL_PREFIX.length) };
  return {};
}

/** The shell page: its own scripts, its RPC, and frames from its levels' viewer origins only. */
export function csp(origin: string, viewerOrigins: string[] = []): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    `frame-src ${viewerOrigins.length > 0 ? viewerOrigins.join(' ') : "'none'"}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A viewer page: the gateway only, embedded by the shell's page only. */
export function viewerCsp(shellOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${shellOrigin.replace(/^http/, 'ws')}${VNC_PATH}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${shellOrigin}`,
  ].join('; ');
}

/** The shell's server serves every page but the viewer; a viewer's server, the viewer page and assets only. */
function serveStatic(req: IncomingMessage, res: ServerResponse, root: StaticFiles | null, policy: () => string, page: 'shell' | 'viewer'): void {
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
  const relative = pathname === '/' ? (page === 'shell' ? 'index.html' : '') : pathname.slice(1);
  const allowedHere = page === 'shell' ? relative !== VIEWER_PAGE : relative === VIEWER_PAGE || relative.startsWith('assets/');
  if (!allowedHere) {
    res.writeHead(404, headers).end();
    return;
  }
  const file = normalize(join('/', relative)).slice(1);
  const body = relative.includes('\0') ? null : root.get(file);
  if (!body) {
    res.writeHead(404, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : body);
}
