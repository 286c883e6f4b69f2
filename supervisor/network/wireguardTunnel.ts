/**
 * A cage's WireGuard tunnel, made the way wireguard.com's namespace integration describes: the
 * interface is created here, in the supervisor's (the uplink's) namespace, so its encrypted UDP
 * socket lives outside the cage, then moved into the cage's namespace, where it becomes the only
 * interface besides `lo` and carries the only routes (the peers' AllowedIPs). No tunnel, no route:
 * whatever fails, the cage is left with `lo` alone, never with a way around the tunnel.
 *
 * The kernel's WireGuard where the kernel has it, else `wireguard-go` (a process of ours, in the
 * foreground, until the tunnel closes). The private key reaches `wg setconf` in a file of root's
 * in a root-only folder, removed at once — never a command line (and not /dev/stdin: Node's pipes
 * are sockets, which `wg` cannot open by that name).
 *
 * The tunnel outlives the supervisor, as the cage does: the kernel's interface lives in the cage's
 * namespace; wireguard-go runs in the cage's control group and writes to a root-only file, not to a
 * pipe whose end would kill it. The next supervisor takes the tunnel back (adoptTunnel) once it has
 * checked that the interface is in the cage and the process is the recorded one.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { setconfText, type WireguardConfig } from '../policy/wireguardConfig';

const exec = promisify(execFile);
const UAPI_DIR = '/var/run/wireguard';

export interface TunnelStatus {
  /** When the last handshake with any peer happened (ms since 1970), or null if none yet. */
  handshakeAt: number | null;
}

export interface Tunnel {
  ifname: string;
  kind: 'kernel' | 'wireguard-go';
  status(): Promise<TunnelStatus>;
  close(): Promise<void>;
  /** Resolves if the tunnel's own process ends (wireguard-go); never for the kernel's. */
  ended: Promise<string>;
  /** wireguard-go's pid (null for the kernel's), for the cage's record. */
  goPid?: number | null;
}

/** What a cage's record keeps of its tunnel. */
export interface RecordedTunnel {
  ifname: string;
  kind: Tunnel['kind'];
}

/** The recorded wireguard-go process, as the caller checks it (its pid and start time). */
export interface TunnelProcess {
  alive(): boolean;
  kill(): void;
}

/**
 * Opens the tunnel into the namespace of `innerPid`; on failure, nothing is left in either
 * namespace. `privateDir` is a folder only root can enter, for the moment `wg` reads the key.
 */
export async function openTunnel(ifname: string, innerPid: number, config: WireguardConfig, privateDir: string, joinPrefix: string[] = [], sandboxReady?: Promise<boolean>): Promise<Tunnel> {
  const ip = requireBinary('ip');
  const wg = requireBinary('wg');
  const inCage = (args: string[]) => run(requireBinary('nsenter'), ['-t', String(innerPid), '-n', '--', ...args]);
  let goProcess: ChildProcess | null = null;
  let kind: Tunnel['kind'] = 'kernel';
  try {
    await run(ip, ['link', 'add', ifname, 'type', 'wireguard']);
  } catch {
    kind = 'wireguard-go';
    goProcess = await startWireguardGo(ifname, privateDir, joinPrefix);
  }
  const ended =
    goProcess === null
      ? new Promise<string>(() => undefined)
      : new Promise<string>((resolve) => goProcess!.on('exit', (code, signal) => resolve(`wireguard-go ended (${signal ?? `exit ${code}`})`)));
  const close = async () => {
    await inCage([ip, 'link', 'del', ifname]).catch(() => undefined);
    await run(ip, ['link', 'del', ifname]).catch(() => undefined);
    goProcess?.kill('SIGTERM');
  };
  try {
    const keyed = join(privateDir, `${ifname}.conf`);
    writeFileSync(keyed, setconfText(config), { mode: 0o600 });
    try {
      await run(wg, ['setconf', ifname, keyed]);
    } finally {
      rmSync(keyed, { force: true });
    }
    await run(ip, ['link', 'set', ifname, 'netns', String(innerPid)]);
    // lo only once bwrap has set it up in a new sandbox: bwrap dies on finding it up (sandbox/sandboxSetUp.ts).
    if (sandboxReady && !(await sandboxReady)) throw new Error('the cage ended before its sandbox was set up');
    await inCage([ip, 'link', 'set', 'lo', 'up']);
    for (const address of config.addresses) await inCage([ip, 'address', 'add', address, 'dev', ifname]);
    await inCage([ip, 'link', 'set', ifname, ...(config.mtu ? ['mtu', String(config.mtu)] : []), 'up']);
    for (const peer of config.peers) {
      for (const net of peer.allowedIPs) await inCage([ip, 'route', 'replace', net === '0.0.0.0/0' ? 'default' : net, 'dev', ifname]);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { ifname, kind, ended, close, status: statusOf(ifname, kind, inCage), goPid: goProcess?.pid ?? null };
}

/**
 * Takes back a tunnel a previous supervisor opened into the cage of `innerPid`: its interface must
 * be in the cage's namespace and, for wireguard-go, the recorded process alive with its control
 * socket. Null when not (the caller removes what is left and opens a new one).
 */
export async function adoptTunnel(recorded: RecordedTunnel, innerPid: number, go: TunnelProcess | null): Promise<Tunnel | null> {
  const ip = requireBinary('ip');
  const inCage = (args: string[]) => run(requireBinary('nsenter'), ['-t', String(innerPid), '-n', '--', ...args]);
  const present = await inCage([ip, '-o', 'link', 'show', 'dev', recorded.ifname]).then(
    () => true,
    () => false,
  );
  if (!present) return null;
  if (recorded.kind === 'wireguard-go' && !(go?.alive() && existsSync(`${UAPI_DIR}/${recorded.ifname}.sock`))) return null;
  const ended =
    recorded.kind === 'wireguard-go'
      ? new Promise<string>((resolve) => {
          // No child of this supervisor: its end is seen in /proc.
          const timer = setInterval(() => {
            if (go!.alive()) return;
            clearInterval(timer);
            resolve('wireguard-go ended');
          }, 1000);
          timer.unref();
        })
      : new Promise<string>(() => undefined);
  return {
    ifname: recorded.ifname,
    kind: recorded.kind,
    ended,
    goPid: null,
    status: statusOf(recorded.ifname, recorded.kind, inCage),
    close: async () => {
      await inCage([ip, 'link', 'del', recorded.ifname]).catch(() => undefined);
      go?.kill();
    },
  };
}

/** Removes what is left of a tunnel that could not be taken back: its interface and its process. */
export async function removeTunnel(recorded: RecordedTunnel, innerPid: number, go: TunnelProcess | null): Promise<void> {
  const ip = requireBinary('ip');
  await run(requireBinary('nsenter'), ['-t', String(innerPid), '-n', '--', ip, 'link', 'del', recorded.ifname]).catch(() => undefined);
  await run(ip, ['link', 'del', recorded.ifname]).catch(() => undefined);
  go?.kill();
}

function statusOf(ifname: string, kind: Tunnel['kind'], inCage: (args: string[]) => Promise<{ stdout: string }>): () => Promise<TunnelStatus> {
  const wg = requireBinary('wg');
  return async () => {
    // `wg` finds a wireguard-go interface by its socket (here); the kernel's only in its namespace.
    const { stdout } = kind === 'kernel' ? await inCage([wg, 'show', ifname, 'latest-handshakes']) : await run(wg, ['show', ifname, 'latest-handshakes']);
    const latest = Math.max(0, ...stdout.split('\n').map((l) => Number(l.split('\t')[1] ?? 0)));
    return { handshakeAt: latest > 0 ? latest * 1000 : null };
  };
}

async function startWireguardGo(ifname: string, privateDir: string, joinPrefix: string[]): Promise<ChildProcess> {
  // Its messages go to a root-only file: a pipe to this supervisor would end it with SIGPIPE once the supervisor has gone.
  // A control socket left by a wireguard-go that was killed would pass for this one's.
  rmSync(`${UAPI_DIR}/${ifname}.sock`, { force: true });
  const logFile = join(privateDir, `${ifname}.log`);
  const fd = openSync(logFile, 'w', 0o600);
  const argv = [...joinPrefix, requireBinary('wireguard-go'), '--foreground', ifname];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'error' } });
  closeSync(fd);
  const tail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-500);
    } catch {
      return '';
    }
  };
  const socket = `${UAPI_DIR}/${ifname}.sock`;
  for (let i = 0; i < 100 && !existsSync(socket); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error(`wireguard-go did not start: ${tail().trim() || 'no control socket'}`);
  }
  return child;
}

function run(command: string, args: string[]): Promise<{ stdout: string }> {
  return exec(command, args, { timeout: 15_000, encoding: 'utf8' }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`${args[0] === '--' ? args[1] : command.split('/').pop()} ${args.slice(0, 3).join(' ')} failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`);
  });
}
