/**
 * Warms the gateway's hot path once, after start-up, before anyone's first clicks meet it. V8
 * optimises the relay's functions (ws, Node's streams, the filter) only after thousands of
 * messages, and on two cores that compiling shows as millisecond stalls in a viewer's first
 * messages (bench/RESULTS.md, "Gateway, cold"). Here private viewers send pointer and key events
 * through a private twin of the gateway (the same code, built from the real one's options) to an
 * echo endpoint on a socket in a folder of its own; everything is torn down afterwards.
 *
 * It gives way to people: while a real viewer is sending (someone types or moves the mouse in a
 * cage), it waits; their own messages then do the warming, as they would without it.
 *
 * Nothing of it is reachable from a cage: the endpoint's folder is root's (0700) and the twin, on
 * 127.0.0.1, admits only tickets of its own registry. No cage, viewer or journal of the real
 * gateway is touched.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parseProcStat, waitForQuietMachine, type QuietMachineOptions } from '../system/quietMachine';
import { acceptRfbViewer, serverInit } from './rfbServerHandshake';
import { TicketRegistry } from './ticketRegistry';
import { VNC_PATH, type VncGateway } from './vncGateway';

export { GATEWAY_WARM_UP_ROUNDS } from './gatewayNames';
const ROUNDS_PER_VIEWER = 1_000;
/** The warm-up steps aside while a real viewer has sent something this recently. */
const QUIET_MS = 250;
const BATCH = 100;

const LEVEL = 'warm-up';
/** A pointer event (RFB type 5) and a key press and release (type 4, keysym "a"). */
const POINTER = Buffer.from([5, 0, 0, 10, 0, 10]);
const KEYS = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61, 4, 0, 0, 0, 0, 0, 0, 0x61]);

export interface GatewayWarmUpOptions {
  rounds: number;
  /** Where the private folder for the echo endpoint is made (the supervisor's run folder). */
  parentDir: string;
  /** The gateway to warm: a private twin of it carries the warm-up's viewers (VncGateway.privateTwin). */
  gateway: VncGateway;
  /** Stops the warm-up early (the supervisor is stopping). */
  signal?: AbortSignal;
}

/** Runs the warm-up; resolves with the round trips made and how long they took. */
export async function warmUpGateway(options: GatewayWarmUpOptions): Promise<{ rounds: number; ms: number }> {
  const started = performance.now();
  const dir = mkdtempSync(join(options.parentDir, 'gateway-warm-up-'));
  const endpointPath = join(dir, 'echo.sock');
  const tickets = new TicketRegistry();
  const gateway = options.gateway.privateTwin(LEVEL, { path: endpointPath }, tickets);
  let endpoint: Server | null = null;
  let http: HttpServer | null = null;
  let rounds = 0;
  try {
    endpoint = await listenEchoEndpoint(endpointPath);
    http = createHttpServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
    const port = await new Promise<number>((resolve) => http!.listen(0, '127.0.0.1', () => resolve((http!.address() as AddressInfo).port)));
    const inUse = () => Date.now() - options.gateway.lastViewerMessageAt < QUIET_MS;
    // Several viewers one after the other: code V8 optimised for the closures of a single
    // connection would be thrown away at the first real one ("wrong call target").
    while (rounds < options.rounds && !options.signal?.aborted) {
      const url = `ws://127.0.0.1:${port}${VNC_PATH}?level=${LEVEL}&ticket=${tickets.issue(LEVEL)}`;
      rounds += await oneViewer(url, Math.min(ROUNDS_PER_VIEWER, options.rounds - rounds), inUse, options.signal);
    }
  } finally {
    gateway.close();
    await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
    await new Promise((resolve) => (endpoint ? endpoint.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
  return { rounds, ms: Math.round(performance.now() - started) };
}

/**
 * The machine counts as quiet for the warm-up when its cores were busy at most half of the last
 * second; it waits 30 s at most. Started at once, the warm-up's 10,000 round trips (about 1.5 s of
 * the supervisor's CPU on two cores) competed with the cages' applications starting.
 */
export const WARM_UP_WHEN_QUIET: Omit<QuietMachineOptions, 'signal'> = { busyShare: 0.5, windowMs: 1000, maxWaitMs: 30_000, read: () => parseProcStat(readFileSync('/proc/stat', 'utf8')) };

/**
 * A warm-up started `afterMs` from now, once the machine is quiet (`quiet`, WARM_UP_WHEN_QUIET
 * unless a test gives its own), so that start-up's own work is done; `stop()` ends it early.
 */
export function scheduleGatewayWarmUp(
  options: Omit<GatewayWarmUpOptions, 'signal'> & { afterMs: number; quiet?: Omit<QuietMachineOptions, 'signal'>; log?: (msg: string, fields?: Record<string, unknown>) => void },
): { stop(): Promise<void> } {
  const abort = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const timer = setTimeout(() => {
    running = waitForQuietMachine({ ...(options.quiet ?? WARM_UP_WHEN_QUIET), signal: abort.signal })
      .then((waited) => {
        if (abort.signal.aborted) return;
        options.log?.('gateway warm-up starting', waited);
        return warmUpGateway({ ...options, signal: abort.signal }).then((done) => options.log?.(done.rounds < options.rounds ? 'gateway warm-up cut short' : 'gateway warmed up', done));
      })
      .catch((err: Error) => options.log?.('gateway warm-up failed', { error: err.message }));
  }, options.afterMs);
  return {
    async stop() {
      clearTimeout(timer);
      abort.abort();
      await running;
    },
  };
}

/** One private viewer: the handshake, then `rounds` round trips of input events; returns those made. */
async function oneViewer(url: string, rounds: number, inUse: () => boolean, signal?: AbortSignal): Promise<number> {
  const viewer = new WebSocket(url, { perMessageDeflate: false });
  const bytes = new ByteQueue(viewer);
  let made = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      viewer.once('open', resolve);
      viewer.once('error', reject);
    });
    await clientHandshake(viewer, bytes);
    for (; made < rounds && !signal?.aborted; made++) {
      if (made % BATCH === 0) {
        while (inUse() && !signal?.aborted) await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
        if (signal?.aborted) break;
      }
      const message = made % 8 === 7 ? KEYS : POINTER;
      viewer.send(message);
      await bytes.take(message.length);
    }
  } finally {
    viewer.terminate();
  }
  return made;
}

/** An RFB 3.8 server with security None that, once initialised, sends back every byte it gets. */
export function listenEchoEndpoint(path: string): Promise<Server> {
  const server = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    acceptRfbViewer(sock, SERVER_INIT, { data: (bytes) => sock.write(bytes) });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

const SERVER_INIT = serverInit(1024, 640);

async function clientHandshake(viewer: WebSocket, bytes: ByteQueue): Promise<void> {
  await bytes.take(12);
  viewer.send(Buffer.from('RFB 003.008\n'));
  await bytes.take(2);
  viewer.send(Buffer.from([1]));
  await bytes.take(4);
  viewer.send(Buffer.from([1])); // ClientInit: shared
  await bytes.take(SERVER_INIT.length);
}

/** Counts the bytes a viewer receives; `take(n)` resolves once n more have come. */
class ByteQueue {
  private received = 0;
  private wanted = 0;
  private waiter: { resolve: () => void; reject: (err: Error) => void } | null = null;

  constructor(viewer: WebSocket) {
    viewer.on('message', (data: Buffer) => {
      this.received += data.length;
      if (this.waiter && this.received >= this.wanted) this.settle(null);
    });
    viewer.on('close', () => this.settle(new Error('the warm-up viewer was closed')));
    viewer.on('error', (err) => this.settle(err));
  }

  take(n: number): Promise<void> {
    this.wanted += n;
    if (this.received >= this.wanted) return Promise.resolve();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private settle(err: Error | null): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (err) waiter?.reject(err);
    else waiter?.resolve();
  }
}
