/**
 * Test tool: a site's VPN gateway on this machine, in network namespaces the test makes itself.
 * A veth pair joins this (the uplink's) namespace to a "site gateway" namespace, which runs a real
 * WireGuard peer (wireguard-go) with an HTTP service behind it, on the tunnel's side; another HTTP
 * service answers on the underlay address only (outside the tunnel's AllowedIPs). IPv6 is off on
 * the veth, so captures hold only what the test sends. `cageConfig` is the file a policy names for
 * the cage's end (root's, 0600). Every address lives in the test's own namespaces or veth.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './waitFor';

export interface SiteGateway {
  /** This namespace's end of the veth: where a capture sees everything the tunnel sends. */
  uplinkInterface: string;
  /** The address of that end: what leaves this machine toward the site leaves from it. */
  uplinkAddress: string;
  underlayAddress: string;
  tunnelAddress: string;
  port: number;
  /** The cage's WireGuard configuration file (root's, 0600). */
  cageConfig: string;
  /** Stops the gateway's WireGuard peer (the HTTP services stay). */
  stopPeer(): void;
  stop(): void;
}

const sh = (args: string[], input?: string) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) }).trim();

/**
 * Subnets claimed by the site gateways of tests running at once (vitest runs files in parallel,
 * each picking its subnet from its pid): a file per subnet, made exclusively, naming its claimant.
 */
const SUBNET_CLAIMS = '/run/cloison-test-subnets';
const SUBNETS = { first: 20, count: 200 };

function claimSubnet(preferred: number): { subnet: number; release(): void } {
  mkdirSync(SUBNET_CLAIMS, { recursive: true, mode: 0o700 });
  for (let i = 0; i < SUBNETS.count * 2; i++) {
    const subnet = SUBNETS.first + ((((preferred - SUBNETS.first + i) % SUBNETS.count) + SUBNETS.count) % SUBNETS.count);
    const file = join(SUBNET_CLAIMS, String(subnet));
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      let held = true;
      const release = () => {
        // Once only: a second release could remove another test's claim made since.
        if (held) rmSync(file, { force: true });
        held = false;
      };
      return { subnet, release };
    } catch {
      // Left by a test process that is gone: free again (the next round claims it).
      if (!processAlive(Number(readFileOr(file)))) rmSync(file, { force: true });
    }
  }
  throw new Error('no free subnet for a site gateway');
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * 10.231.<subnet>.0/24 underneath and 10.99.<subnet>.0/24 in the tunnel: `preferred`, or the next
 * one no other test's gateway holds (two veths on one subnet would route each other's packets).
 */
export async function startSiteGateway(dir: string, preferred: number): Promise<SiteGateway> {
  const claim = claimSubnet(preferred);
  const { subnet } = claim;
  const id = randomBytes(3).toString('hex');
  const ns = `cltgw${id}`;
  const up = `cltu${id}`;
  const gw = `cltg${id}`;
  const underlay = { host: `10.231.${subnet}.1`, gateway: `10.231.${subnet}.2` };
  const tunnel = { gateway: `10.99.${subnet}.1`, cage: `10.99.${subnet}.2` };
  const port = 51820;
  const wgg = `wgg${id}`; // its control socket is in this machine's /var/run/wireguard: a name of its own
  const children: ChildProcess[] = [];
  const inNs = (args: string[], input?: string) => sh(['ip', 'netns', 'exec', ns, ...args], input);

  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
    for (const args of [['ip', 'netns', 'del', ns], ['ip', 'link', 'del', up]]) {
      try {
        sh(args);
      } catch {
        /* gone (the veth goes with the namespace) */
      }
    }
    claim.release();
  };
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', 'link', 'add', up, 'type', 'veth', 'peer', 'name', gw]);
    sh(['ip', 'link', 'set', gw, 'netns', ns]);
    sh(['sysctl', '-q', '-w', `net.ipv6.conf.${up}.disable_ipv6=1`]);
    inNs(['sysctl', '-q', '-w', `net.ipv6.conf.${gw}.disable_ipv6=1`]);
    sh(['ip', 'address', 'add', `${underlay.host}/24`, 'dev', up]);
    sh(['ip', 'link', 'set', up, 'up']);
    inNs(['ip', 'address', 'add', `${underlay.gateway}/24`, 'dev', gw]);
    inNs(['ip', 'link', 'set', gw, 'up']);
    inNs(['ip', 'link', 'set', 'lo', 'up']);

    const gwKey = sh(['wg', 'genkey']);
    const cageKey = sh(['wg', 'genkey']);
    const pub = (key: string) => sh(['wg', 'pubkey'], key);
    const peer = spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '--foreground', wgg], { stdio: 'ignore' });
    children.push(peer);
    await waitFor(() => existsSync(`/var/run/wireguard/${wgg}.sock`), 'the gateway peer');
    const gwConfig = join(dir, `wgg-${id}.conf`);
    writeFileSync(gwConfig, `[Interface]\nPrivateKey = ${gwKey}\nListenPort = ${port}\n\n[Peer]\nPublicKey = ${pub(cageKey)}\nAllowedIPs = ${tunnel.cage}/32\n`, { mode: 0o600 });
    inNs(['wg', 'setconf', wgg, gwConfig]);
    inNs(['ip', 'address', 'add', `${tunnel.gateway}/24`, 'dev', wgg]);
    inNs(['ip', 'link', 'set', wgg, 'up']);

    // An HTTP service inside the tunnel, and one on the underlay only.
    const serve = (address: string, httpPort: number, body: string) => {
      const script = `require('http').createServer((q, s) => s.end(${JSON.stringify(body)})).listen(${httpPort}, ${JSON.stringify(address)})`;
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
      children.push(child);
    };
    serve(tunnel.gateway, 8080, 'site service through the tunnel\n');
    serve(underlay.gateway, 8081, 'underlay only\n');

    const cageConfig = join(dir, `wg-${id}.conf`);
    writeFileSync(
      cageConfig,
      `# the cage's end of the tunnel\n[Interface]\nPrivateKey = ${cageKey}\nAddress = ${tunnel.cage}/32\nDNS = ${tunnel.gateway}\n\n[Peer]\nPublicKey = ${pub(gwKey)}\nEndpoint = ${underlay.gateway}:${port}\nAllowedIPs = 10.99.${subnet}.0/24\n`,
      { mode: 0o600 },
    );
    return {
      uplinkInterface: up,
      uplinkAddress: underlay.host,
      underlayAddress: underlay.gateway,
      tunnelAddress: tunnel.gateway,
      port,
      cageConfig,
      stopPeer: () => peer.kill('SIGTERM'),
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/** A packet capture on an interface, for the test to read as tcpdump prints it. */
export async function capture(iface: string, file: string): Promise<{ stop(): Promise<string[]> }> {
  // Immediate mode: without it packets wait in the kernel's buffer, and stopping the capture drops them.
  const child = spawn('tcpdump', ['-i', iface, '-nn', '--immediate-mode', '-U', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  child.stderr!.on('data', (d: Buffer) => (said += d.toString()));
  await waitFor(() => said.includes('listening on'), 'the capture to start');
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      return execFileSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').filter(Boolean);
    },
  };
}
