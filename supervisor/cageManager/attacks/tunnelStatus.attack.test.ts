/**
 * Attack (#29): `tunnel.status` from the `cloison` part, the one window the part has on a level's
 * WireGuard tunnel (the cage's driver, the manager's, opened it from a configuration holding the
 * level's private key, root's 0600). A compromised part asks for what it should not learn: the
 * key or the configuration (a field riding along, the reply's text), another level's tunnel under
 * a level's name, a tunnel for a level the running policy puts on no WireGuard network (dropped by
 * a reload while its cage still runs with one), and a flood meant to hold the manager's slots.
 *
 * Before this request existed the part had no view of a tunnel at all over the split (the band
 * showed none: remoteCageDriver.ts said `tunnel` was absent); these tests bound what it now gets.
 *
 * Real cages started through `cage.start`: high on a real wireguard-go peer in a site-gateway
 * namespace (its tunnel comes up), low on a peer that never answers (127.0.0.1, nothing
 * listening); the requests from a real `cloison`-account process in the wire format.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../../shared/policy';
import { parsePolicy } from '../../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { startSiteGateway, type SiteGateway } from '../../testing/siteGateway';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { ManagedCages } from '../managedCages';

const UIDS = { low: 58860, high: 58861 };
const SUBNET = 60 + (process.pid % 120);
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';

let root: string;
let site: SiteGateway;
let manager: ServedManager;
let policy: Policy;
let lowConf: string;
const cages = new ManagedCages();

const ask = async (request: unknown) => (await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request } }])).replies[0] as { ok: boolean; result?: { tunnel: Record<string, unknown> | null }; error?: { code: string; message: string } };
const policyWith = (lowNetwork: string) =>
  parsePolicy(
    twoLevelPolicy({
      low: bwrapCage({ uid: UIDS.low, limits: SMALL }).replace('network: none', `network: ${lowNetwork}`),
      high: bwrapCage({ uid: UIDS.high, limits: SMALL }).replace('network: none', `network: { mode: wireguard, config: ${site.cageConfig} }`),
    }),
    'p.yaml',
  );

beforeAll(async () => {
  root = testRoot('cloison-tunst-');
  site = await startSiteGateway(root, SUBNET);
  const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const peerKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
  lowConf = join(root, 'wg-low.conf');
  writeFileSync(lowConf, `[Interface]\nPrivateKey = ${key}\nAddress = 10.98.${SUBNET}.2/32\n\n[Peer]\nPublicKey = ${peerKey}\nEndpoint = 127.0.0.1:51996\nAllowedIPs = 10.98.${SUBNET}.0/24\n`, { mode: 0o600 });
  policy = policyWith(`{ mode: wireguard, config: ${lowConf} }`);
  manager = await serveManagerToCloison({ root, policy: () => policy, cages, holdsCage: true, table: { part: () => null } });
  for (const level of ['high', 'low'] as const) expect(await ask({ op: 'cage.start', level, uid: UIDS[level] })).toMatchObject({ ok: true });
}, 90_000);

afterAll(async () => {
  // The site's gateway stopped once the manager no longer serves (or alone, when the manager never started).
  if (manager) await manager.close(() => site?.stop());
  else site?.stop();
}, 60_000);

/** Every private or preshared key a configuration holds. */
const keysOf = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:PrivateKey|PresharedKey)\s*=\s*(\S+)/gim)].map((m) => m[1]!);

describe('tunnel.status from the cloison part', () => {
  it("answers a WireGuard level's band figures as its driver measures them, and nothing of its configuration", async () => {
    let reply = await ask({ op: 'tunnel.status', level: 'high' });
    await waitFor(async () => ((reply = await ask({ op: 'tunnel.status', level: 'high' })), reply.result?.tunnel?.state === 'up'), "high's tunnel up as the manager measures it", 30_000, 500);
    expect(reply).toEqual({ id: 1, ok: true, result: { tunnel: { level: 'high', state: 'up', handshakeAgeSeconds: expect.any(Number), endpoint: `${site.underlayAddress}:${site.port}`, reason: null } } });
    const text = JSON.stringify(reply);
    expect(keysOf(site.cageConfig).length).toBeGreaterThan(0);
    for (const key of keysOf(site.cageConfig)) expect(text).not.toContain(key);
    expect(text).not.toContain(site.cageConfig);
  }, 60_000);

  it('takes no field beside the level: a path or a key asked for is refused before the policy is read', async () => {
    for (const extra of [{ config: site.cageConfig }, { field: 'privateKey' }, { file: '/etc/shadow' }]) {
      expect(await ask({ op: 'tunnel.status', level: 'high', ...extra })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    }
  });

  it("never answers another level's tunnel under a level's name", async () => {
    const low = await ask({ op: 'tunnel.status', level: 'low' });
    // Low's own: its endpoint, and not up (its peer never answers), whatever high's is.
    expect(low).toMatchObject({ ok: true, result: { tunnel: { level: 'low', endpoint: '127.0.0.1:51996' } } });
    expect(low.result!.tunnel!.state).not.toBe('up');
    expect(JSON.stringify(low)).not.toContain(site.underlayAddress);
    for (const key of keysOf(lowConf)) expect(JSON.stringify(low)).not.toContain(key);
    expect(await ask({ op: 'tunnel.status', level: 'nope' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: expect.stringContaining('no level "nope"') } });
  });

  it('a flood of one level\'s requests is held to its lane: each answered or BUSY, another level\'s answered in the same burst', async () => {
    const frames = [...Array.from({ length: 80 }, (_, i) => ({ json: { id: i + 1, request: { op: 'tunnel.status', level: 'high' } } })), { json: { id: 1000, request: { op: 'tunnel.status', level: 'low' } } }];
    const outcome = await sendFramesAs(manager.cloison, manager.socketPath, frames);
    const replies = outcome.replies as Array<{ id: number; ok: boolean; error?: { code: string } }>;
    expect(outcome.closed || replies.length === frames.length).toBe(true);
    expect(replies).toHaveLength(frames.length);
    for (const r of replies) expect(r.ok || r.error?.code === 'BUSY').toBe(true);
    expect(replies.find((r) => r.id === 1000)).toMatchObject({ ok: true, result: { tunnel: { level: 'low' } } });
    // And the manager serves on.
    expect(await ask({ op: 'tunnel.status', level: 'high' })).toMatchObject({ ok: true, result: { tunnel: { level: 'high' } } });
  }, 60_000);

  it('a level the running policy puts on no WireGuard network is refused, even while its cage still runs with a tunnel', async () => {
    const before = policy;
    policy = policyWith('none');
    try {
      expect(cages.cage('low')?.tunnel).toBeDefined();
      const reply = await ask({ op: 'tunnel.status', level: 'low' });
      expect(reply).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'level low has no tunnel in the running policy' } });
    } finally {
      policy = before;
    }
    expect(readFileSync(manager.journal.path, 'utf8')).toMatch(/"op":"tunnel\.status","reason":"level low has no tunnel in the running policy".*"kind":"rootRequest\.refused"/);
  });

  it("a configuration the parser refuses does not carry the level's key into the reason the part reads", async () => {
    // The administrator pastes the key on a line of its own, or writes `PrivateKey: <key>`: the
    // parser's refusal (the cage's driver re-reads the file at each start) is the tunnel's reason.
    // A compromised part stops and starts the level and reads that reason.
    const key = keysOf(lowConf)[0]!;
    const good = readFileSync(lowConf, 'utf8');
    const peerKey = /PublicKey = (\S+)/.exec(good)![1]!;
    try {
      for (const broken of [good.replace(`PrivateKey = ${key}`, key), good.replace(`PrivateKey = ${key}`, `PrivateKey: ${key}`), good.replace(`Endpoint = 127.0.0.1:51996`, `Endpoint = ${key}`), good.replace(`AllowedIPs = `, `AllowedIPs = ${peerKey}, `)]) {
        writeFileSync(lowConf, broken, { mode: 0o600 });
        expect(await ask({ op: 'cage.stop', level: 'low' })).toMatchObject({ ok: true });
        await waitFor(() => cages.cage('low') === null, 'low stopped', 30_000);
        expect(await ask({ op: 'cage.start', level: 'low', uid: UIDS.low })).toMatchObject({ ok: true });
        let reply = await ask({ op: 'tunnel.status', level: 'low' });
        await waitFor(async () => ((reply = await ask({ op: 'tunnel.status', level: 'low' })), reply.result?.tunnel?.state === 'failed'), "low's tunnel failed", 30_000, 300);
        // The control: the part is told the configuration was refused, and on which line.
        expect(reply.result!.tunnel!.reason).toMatch(/:\d+: /);
        const text = JSON.stringify(reply);
        expect(text).not.toContain(key);
        expect(text).not.toContain(key.slice(0, 16));
        expect(text).not.toContain(peerKey.slice(0, 16));
      }
    } finally {
      writeFileSync(lowConf, good, { mode: 0o600 });
    }
  }, 120_000);

  it('a level whose cage is not running: no tunnel, not an old one', async () => {
    expect(await ask({ op: 'cage.stop', level: 'low' })).toMatchObject({ ok: true });
    await waitFor(() => cages.cage('low') === null, 'low stopped', 30_000);
    expect(await ask({ op: 'tunnel.status', level: 'low' })).toEqual({ id: 1, ok: true, result: { tunnel: null } });
  }, 60_000);
});
