/**
 * Attack (review of the cage manager as wired, issue #29): `network.wireguard` for a WireGuard
 * level whose cage `cage.start` started. The cage's driver (bwrapDriver.ts attachTunnel) opens the
 * level's tunnel itself as the cage starts, under the interface name tunnelInterfaceName(level,
 * run); a network.wireguard executor served beside cage.start knew only the tunnels it opened
 * itself, so it opened another with the same name in the driver's place.
 *
 * Seen with that executor served (networkWireguardExecutor.ts, since removed): answered
 * `already: false`, the driver's wireguard-go ended and another put in its place under the same
 * name — outside the cage's control group, not in its record. Now the request is no request
 * (requests.ts): the manager's own table (managerExecutors.ts) is served here, the ask refused,
 * the driver's tunnel and its wireguard-go kept.
 *
 * A real bwrap cage of a WireGuard level (its peer on 127.0.0.1 only), started through cage.start,
 * then network.wireguard and network.nat from a real `cloison`-account process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapCagePaths, tunnelInterfaceName } from '../../cages/bwrapDriver';
import { parsePolicy } from '../../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { wireguardBwrapCage } from '../../testing/wireguardTestCage';
import { ManagedCages } from '../managedCages';

const HIGH_UID = 58821;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';

let manager: ServedManager;
const cages = new ManagedCages();

const linksIn = (pid: number) => execFileSync('nsenter', ['-t', String(pid), '-n', '--', 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);

beforeAll(async () => {
  const root = testRoot('cloison-wgbd-');
  const high = wireguardBwrapCage(join(root, 'wg-high.conf'), { uid: HIGH_UID, limits: SMALL, subnet: '10.99.11', port: 51997 });
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58820, limits: SMALL }), high }), 'p.yaml');
  // The manager's own table, as it serves the part.
  manager = await serveManagerToCloison({ root, policy: () => policy, cages, table: {} });
}, 30_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe('network.wireguard for a cage whose driver opened its tunnel', () => {
  it('is no request: the cage keeps its working tunnel', async () => {
    const ask = (request: unknown) => sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request } }]);
    const started = await ask({ op: 'cage.start', level: 'high', uid: HIGH_UID });
    expect(started.replies[0]).toMatchObject({ ok: true });
    const innerPid = cages.innerPidOf('high')!;
    const ifname = tunnelInterfaceName('high', bwrapCagePaths(manager.folders.stateDir, manager.folders.runDir, 'high').run);
    await waitFor(() => linksIn(innerPid).includes(ifname), 'the driver\'s tunnel in the cage', 20_000);
    const gos = () => spawnSync('pgrep', ['-f', `wireguard-go.*${ifname}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const before = gos();
    expect(before).toHaveLength(1);
    const asked = await ask({ op: 'network.wireguard', level: 'high' });
    const nat = await ask({ op: 'network.nat', level: 'high' });
    await new Promise((r) => setTimeout(r, 1000));
    const after = linksIn(innerPid);
    const goesAfter = gos();
    console.log(`network.wireguard for the running cage: ${JSON.stringify(asked.replies[0]).slice(0, 300)}; network.nat: ${JSON.stringify(nat.replies[0]).slice(0, 200)}; the cage's interfaces after: ${after.join(' ')}; wireguard-go for it before: ${before.join(',')}, after: ${goesAfter.join(',')}`);
    for (const reply of [asked.replies[0], nat.replies[0]]) expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(after, "the cage's tunnel after the request").toContain(ifname);
    // One tunnel, the driver's: its wireguard-go the same process, no second one beside it.
    expect(goesAfter).toEqual(before);
    expect(readFileSync(manager.journal.path, 'utf8')).toMatch(/rootRequest\.refused/);
  }, 120_000);
});
