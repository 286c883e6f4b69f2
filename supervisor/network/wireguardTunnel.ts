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
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
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
}

/**
 * Opens the tunnel into the namespace of `innerPid`; on failure, nothing is left in either
 * namespace. `privateDir` is a folder only root can enter, for the moment `wg` reads the key.
 */
export async function openTunnel(ifname: string, innerPid: number, config: WireguardConfig, privateDir: string): Promise<Tunnel> {
  const ip = requireBinary('ip');
  const wg = requireBinary('wg');
  const inCage = (args: string[]) => run(requireBinary('nsenter'), ['-t', String(innerPid), '-n', '--', ...args]);
  let goProcess: ChildProcess | null = null;
  let kind: Tunnel['kind'] = 'kernel';
  try {
    await run(ip, ['link', 'add', ifname, 'type', 'wireguard']);
  } catch {
    kind = 'wireguard-go';
    goProcess = await startWireguardGo(ifname);
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
  return {
    ifname,
    kind,
    ended,
    close,
    status: async () => {
      // `wg` finds a wireguard-go interface by its socket (here); the kernel's only in its namespace.
      const { stdout } = kind === 'kernel' ? await inCage([wg, 'show', ifname, 'latest-handshakes']) : await run(wg, ['show', ifname, 'latest-handshakes']);
      const latest = Math.max(0, ...stdout.split('\n').map((l) => Number(l.split('\t')[1] ?? 0)));
      return { handshakeAt: latest > 0 ? latest * 1000 : null };
    },
  };
}

async function startWireguardGo(ifname: string): Promise<ChildProcess> {
  const child = spawn(requireBinary('wireguard-go'), ['--foreground', ifname], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'error' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
  const socket = `${UAPI_DIR}/${ifname}.sock`;
  for (let i = 0; i < 100 && !existsSync(socket); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error(`wireguard-go did not start: ${stderr.trim() || 'no control socket'}`);
  }
  return child;
}

function run(command: string, args: string[]): Promise<{ stdout: string }> {
  return exec(command, args, { timeout: 15_000, encoding: 'utf8' }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`${args[0] === '--' ? args[1] : command.split('/').pop()} ${args.slice(0, 3).join(' ')} failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`);
  });
}
