/**
 * The two proxies compared: Cloison's gateway (in its own process) and websockify (Debian's
 * package, the bridge noVNC ships with), both in front of the same Unix socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Proxy {
  name: 'cloison' | 'cloison-split' | 'websockify' | 'bare-node-relay';
  pid: number;
  /** A fresh ws:// URL for one viewer connection. */
  url(): Promise<string>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
}

async function startNodeProcess(file: string, socketPath: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL(file, import.meta.url));
  // BENCH_NODE_FLAGS="--no-opt …": the same process under other V8 settings, to measure a lever.
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const port = await new Promise<number>((r) => createInterface({ input: child.stdout! }).once('line', (l) => r(Number(l))));
  return { child, port };
}

/**
 * The gateway as the supervisor runs it. `inControlGroup`: its browser part in a control group, as the product's. `warmUp`: 'first' warms it as the supervisor does after
 * start-up before it serves anyone, 'beside' while the first viewer is served; none, cold.
 */
export async function startCloisonGateway(socketPath: string, warmUp?: 'first' | 'beside', inControlGroup = false): Promise<Proxy> {
  const { child, port } = await startNodeProcess('./gatewayProcess.ts', socketPath, { ...(warmUp ? { WARM_UP: warmUp } : {}), ...(inControlGroup ? { BENCH_PART_CGROUP: '1' } : {}) });
  return {
    name: 'cloison',
    pid: child.pid!,
    url: async () => {
      const ticket = await (await fetch(`http://127.0.0.1:${port}/ticket`)).text();
      return `ws://127.0.0.1:${port}/vnc?level=bench&ticket=${ticket}`;
    },
    stop: stopper(child),
  };
}

/**
 * The gateway as the split supervisor runs it (#29): a cage manager (root) handing each viewer's
 * connection to its `cloison` part, which hands it on to its browser child (splitGatewayProcess.ts).
 */
export async function startCloisonGatewaySplit(socketPath: string, warmUp?: 'first' | 'beside'): Promise<Proxy> {
  const { child, port } = await startNodeProcess('./splitGatewayProcess.ts', socketPath, warmUp ? { WARM_UP: warmUp } : {});
  return {
    name: 'cloison-split',
    pid: child.pid!,
    url: async () => {
      const ticket = await (await fetch(`http://127.0.0.1:${port}/ticket`)).text();
      return `ws://127.0.0.1:${port}/vnc?level=bench&ticket=${ticket}`;
    },
    stop: stopper(child),
  };
}

/** The control: Node and ws alone, without anything Cloison adds. */
export async function startBareNodeRelay(socketPath: string): Promise<Proxy> {
  const { child, port } = await startNodeProcess('./bareNodeRelayProcess.ts', socketPath);
  return { name: 'bare-node-relay', pid: child.pid!, url: async () => `ws://127.0.0.1:${port}/`, stop: stopper(child) };
}

export async function startWebsockify(socketPath: string): Promise<Proxy> {
  const port = await freePort();
  const child = spawn('websockify', ['--unix-target', socketPath, `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Ready when it accepts TCP connections.
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'websockify', pid: child.pid!, url: async () => `ws://127.0.0.1:${port}/`, stop: stopper(child) };
}
