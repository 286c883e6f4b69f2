/**
 * Attack (review of the cage manager's network.wireguard executor, issue #29): a WireGuard level's
 * cage started again (its namespace a new one), then two `network.wireguard` requests for it at
 * once. The executor awaited the old tunnel's close before it recorded the new opening, so the
 * second request found the old entry too, closed it again and opened a tunnel of its own with the
 * same interface name (seen before, on namespaces the test made).
 *
 * The executor is gone (cage.start's driver opens the tunnel, requests.ts has no network request):
 * here a real WireGuard cage started, stopped and started again through the manager's own table
 * (managerExecutors.ts), then two network.wireguard at once from a real `cloison`-account process
 * on one connection. Expected: both refused, the new cage's tunnel the driver's, one wireguard-go.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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

const HIGH_UID = 58823;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';

let manager: ServedManager;
const cages = new ManagedCages();

const linksIn = (pid: number) => execFileSync('nsenter', ['-t', String(pid), '-n', '--', 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
const gosFor = (ifname: string) => spawnSync('pgrep', ['-f', `wireguard-go.*${ifname}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  const root = testRoot('cloison-wgrr-');
  const high = wireguardBwrapCage(join(root, 'wg-high.conf'), { uid: HIGH_UID, limits: SMALL, subnet: '10.99.9', port: 51998 });
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58822, limits: SMALL }), high }), 'p.yaml');
  // The manager's own table, as it serves the part.
  manager = await serveManagerToCloison({ root, policy: () => policy, cages, table: {} });
}, 30_000);

afterAll(async () => {
  await manager?.close();
}, 90_000);

describe('network.wireguard asked twice at once after the cage started again', () => {
  it('is refused both times: the new cage keeps the one tunnel its driver opened', async () => {
    const ask = (...requests: unknown[]) => sendFramesAs(manager.cloison, manager.socketPath, requests.map((request, i) => ({ json: { id: i + 1, request } })));
    const ifname = tunnelInterfaceName('high', bwrapCagePaths(manager.folders.stateDir, manager.folders.runDir, 'high').run);
    expect((await ask({ op: 'cage.start', level: 'high', uid: HIGH_UID })).replies[0]).toMatchObject({ ok: true });
    const firstPid = cages.innerPidOf('high')!;
    await waitFor(() => linksIn(firstPid).includes(ifname), 'the first cage\'s tunnel', 20_000);
    expect((await ask({ op: 'cage.stop', level: 'high' })).replies[0]).toMatchObject({ ok: true });
    expect((await ask({ op: 'cage.start', level: 'high', uid: HIGH_UID })).replies[0]).toMatchObject({ ok: true });
    const innerPid = cages.innerPidOf('high')!;
    expect(innerPid).not.toBe(firstPid);
    await waitFor(() => linksIn(innerPid).includes(ifname), 'the new cage\'s tunnel', 20_000);
    const before = gosFor(ifname);
    const both = await ask({ op: 'network.wireguard', level: 'high' }, { op: 'network.wireguard', level: 'high' });
    await new Promise((r) => setTimeout(r, 1000));
    const inCage = linksIn(innerPid);
    const gos = gosFor(ifname);
    console.log(`two network.wireguard at once after the cage's restart: ${JSON.stringify(both.replies).slice(0, 400)}; the new cage's interfaces: ${inCage.join(' ')}; wireguard-go for ${ifname} before: ${before.join(',')}, after: ${gos.join(',')}`);
    expect(both.replies).toHaveLength(2);
    for (const reply of both.replies) expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(inCage).toContain(ifname);
    expect(before).toHaveLength(1);
    expect(gos).toEqual(before);
  }, 150_000);
});
