/**
 * `network.nat` and `network.wireguard` behind the real manager socket, asked by a real process
 * of the part's account, on a network namespace the test makes standing for a running cage (the
 * manager's `innerPidOf(level)`). What the policy implies is done: slirp4netns attached to the nat
 * level's namespace (its tap0 there), the WireGuard level's interface moved into its namespace,
 * keyed from the file the policy names. What it does not is refused, journaled, nothing changed:
 *   - a level whose network is not nat / not WireGuard, a level the policy does not name, a pid
 *     named in the request (the schema has no such field);
 *   - asked twice: seen with an executor acting on each request as given (today's openTunnel,
 *     once per request): the second request ended the first tunnel's wireguard-go and put another
 *     in its place — the part could tear the cage's tunnel down at will. Now the open one is
 *     answered and its process stays. (A second slirp4netns, tried the same way, failed on its
 *     own on the cage's tap0 and left the first running; the executor starts none all the same.)
 * Packets: wireguard-go's handshakes go to 127.0.0.1 only; slirp4netns sends nothing unasked.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths, startNat, tunnelInterfaceName } from '../cages/bwrapDriver';
import { openTunnel, type Tunnel } from '../network/wireguardTunnel';
import { parsePolicy } from '../policy/policyLoader';
import { readWireguardConfig } from '../policy/wireguardConfig';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer, REFUSED_KIND, type RootExecutors } from './cageManagerServer';
import { networkNatExecutor } from './networkNatExecutor';
import { networkWireguardExecutor } from './networkWireguardExecutor';

const UIDS = { low: 61795, high: 61796 };
let root: string;
let state: string;
let run: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
const namespaces: Record<string, ChildProcess> = {};
const started: Array<ChildProcess> = [];
const tunnels: Tunnel[] = [];
let mine: { nat: ReturnType<typeof networkNatExecutor>; wg: ReturnType<typeof networkWireguardExecutor> };
let mode: 'naive' | 'mine' = 'mine';

const inNamespace = (level: string, ...args: string[]) => execFileSync('nsenter', ['-t', String(namespaces[level]!.pid), '-n', '--', ...args], { encoding: 'utf8' });
const links = (level: string) => inNamespace(level, 'ip', '-o', 'link', 'show').split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
/** slirp4netns processes attached to `pid`'s namespace. */
const slirpsOn = (pid: number) =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => a.endsWith('slirp4netns')) && argv.includes(String(pid));
    } catch {
      return false;
    }
  });

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

async function ask(request: unknown): Promise<{ reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> }> {
  const seen = refusals().length;
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 7, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: refusals().slice(seen) };
}

function expectRefused(outcome: Awaited<ReturnType<typeof ask>>, code: string, reason: RegExp): void {
  expect(outcome.reply).toMatchObject({ ok: false, error: { code, message: expect.stringMatching(reason) } });
  expect(outcome.journaled).toEqual([expect.objectContaining({ actor: 'cloison', peerUid: cloison.uid, reason: expect.stringMatching(reason) })]);
}

beforeAll(async () => {
  root = testRoot('cloison-nx-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  run = join(root, 'run');
  for (const level of ['low', 'high']) {
    mkdirSync(bwrapCagePaths(state, run, level).run, { recursive: true, mode: 0o700 });
    // A namespace of the test's own standing for the level's cage.
    const ns = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    namespaces[level] = ns;
    await waitFor(() => readFileSync(`/proc/${ns.pid}/cmdline`, 'utf8').startsWith('sleep'), 'the namespace');
  }
  const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const peerKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
  const conf = join(root, 'wg-high.conf');
  writeFileSync(conf, `[Interface]\nPrivateKey = ${key}\nAddress = 10.99.7.2/32\n\n[Peer]\nPublicKey = ${peerKey}\nEndpoint = 127.0.0.1:51999\nAllowedIPs = 10.99.7.0/24\n`, { mode: 0o600 });
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  const low = bwrapCage({ uid: UIDS.low }).replace('network: none', 'network: nat');
  const high = bwrapCage({ uid: UIDS.high }).replace('network: none', `network: { mode: wireguard, config: ${conf} }`);
  const policy = parsePolicy(twoLevelPolicy({ low, high }), 'p.yaml');
  const holdings = { policy: () => policy, stateDir: state, runDir: run, innerPidOf: (level: string) => namespaces[level]?.pid ?? null };
  mine = { nat: networkNatExecutor(holdings), wg: networkWireguardExecutor(holdings) };
  // The executors as they would be written acting on each request as given: today's code, once per request.
  const naive: RootExecutors = {
    'network.nat': async (req) => {
      const child = startNat('/usr/bin/slirp4netns', namespaces[req.level]!.pid!, [], bwrapCagePaths(state, run, req.level).run);
      started.push(child);
      return { pid: child.pid };
    },
    'network.wireguard': async (req) => {
      const path = bwrapCagePaths(state, run, req.level).run;
      const tunnel = await openTunnel(tunnelInterfaceName(req.level, path), namespaces[req.level]!.pid!, readWireguardConfig(conf), path);
      tunnels.push(tunnel);
      return { ifname: tunnel.ifname };
    },
  };
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, stateDir: state, runDir: run, trainingKeysDir: join(run, 'training'), workstationUser: null },
    executors: {
      'network.nat': (req, peer) => (mode === 'naive' ? naive['network.nat']!(req, peer) : mine.nat(req)),
      'network.wireguard': (req, peer) => (mode === 'naive' ? naive['network.wireguard']!(req, peer) : mine.wg(req)),
    },
  });
  await server.listen();
}, 60_000);

afterAll(async () => {
  await server?.close();
  journal?.close();
  mine?.nat.stop();
  await mine?.wg.stop();
  for (const child of started) child.kill('SIGTERM');
  for (const tunnel of tunnels) await tunnel.close().catch(() => undefined);
  for (const ns of Object.values(namespaces)) ns.kill('SIGKILL');
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 30_000);

describe('network.nat', () => {
  it('refuses a level that is not nat, a level the policy does not name, a pid in the request; journaled, nothing attached', async () => {
    expectRefused(await ask({ op: 'network.nat', level: 'high' }), 'POLICY_DENIED', /network is not nat/);
    expectRefused(await ask({ op: 'network.nat', level: 'secret' }), 'POLICY_DENIED', /no level "secret"/);
    expectRefused(await ask({ op: 'network.nat', level: 'low', pid: 1 }), 'BAD_REQUEST', /not a root request/);
    expect(slirpsOn(namespaces.low!.pid!)).toEqual([]);
    expect(slirpsOn(1)).toEqual([]);
  });

  it('attaches slirp4netns to the nat level\'s cage once: tap0 there, asked again the same one', async () => {
    const first = await ask({ op: 'network.nat', level: 'low' });
    expect(first.reply).toMatchObject({ ok: true, result: { already: false } });
    await waitFor(() => links('low').includes('tap0'), 'tap0 in the namespace');
    expect(inNamespace('low', 'ip', '-4', '-o', 'address', 'show', 'tap0')).toMatch(/10\.0\.2\.100/);
    const again = await ask({ op: 'network.nat', level: 'low' });
    expect(again.reply).toMatchObject({ ok: true, result: { already: true, pid: (first.reply.result as { pid: number }).pid } });
    expect(slirpsOn(namespaces.low!.pid!)).toHaveLength(1);
    expect(links('high')).toEqual(['lo']);
  }, 30_000);
});

describe('network.wireguard', () => {
  it('refuses a level with no WireGuard network, journaled; nothing moved in', async () => {
    expectRefused(await ask({ op: 'network.wireguard', level: 'low' }), 'POLICY_DENIED', /no WireGuard network/);
    expect(links('low').filter((l) => l.startsWith('clw'))).toEqual([]);
  });

  it('naive: a second request ends the first tunnel (its wireguard-go) and puts another in its place', async () => {
    mode = 'naive';
    onTestFinished(() => void (mode = 'mine'));
    const first = await ask({ op: 'network.wireguard', level: 'high' });
    expect(first.reply.ok).toBe(true);
    const ifname = (first.reply.result as { ifname: string }).ifname;
    expect(links('high')).toContain(ifname);
    const second = await ask({ op: 'network.wireguard', level: 'high' });
    const firstEnded = await Promise.race([tunnels[0]!.ended, new Promise((r) => setTimeout(() => r('still running'), 1000))]);
    const gos = execFileSync('pgrep', ['-af', `wireguard-go.*${ifname}`], { encoding: 'utf8' }).trim();
    console.log(`naive network.wireguard asked twice: ${JSON.stringify(second.reply)}; the cage's interfaces after: ${links('high').join(' ')}; first tunnel: ${firstEnded}; wireguard-go: ${gos}`);
    expect(firstEnded).toMatch(/^wireguard-go ended/);
    expect(gos).not.toContain(String(tunnels[0]!.goPid));
    for (const tunnel of tunnels.splice(0)) await tunnel.close();
    mode = 'mine';
  }, 60_000);

  it('opens the tunnel into the level\'s cage from the key file the policy names; asked again, the cage keeps it', async () => {
    const first = await ask({ op: 'network.wireguard', level: 'high' });
    expect(first.reply).toMatchObject({ ok: true, result: { already: false } });
    const { ifname } = first.reply.result as { ifname: string };
    expect(links('high').sort()).toEqual([ifname, 'lo'].sort());
    expect(inNamespace('high', 'ip', '-o', 'route', 'show')).toMatch(/10\.99\.7\.0\/24 dev clw/);
    // The key stays the manager's: not in the answer.
    expect(JSON.stringify(first.reply)).not.toContain(readFileSync(join(root, 'wg-high.conf'), 'utf8').match(/PrivateKey = (\S+)/)![1]);
    const go = () => execFileSync('pgrep', ['-f', `wireguard-go.*${ifname}`], { encoding: 'utf8' }).trim();
    const before = go();
    const again = await ask({ op: 'network.wireguard', level: 'high' });
    expect(again.reply).toMatchObject({ ok: true, result: { ifname, already: true } });
    await new Promise((r) => setTimeout(r, 500));
    expect(go()).toBe(before);
    expect(links('high').sort()).toEqual([ifname, 'lo'].sort());
    expect(links('low')).not.toContain(ifname);
  }, 60_000);
});
