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
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { bwrapCagePaths, tunnelInterfaceName } from '../../cages/bwrapDriver';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { CageManagerServer } from '../cageManagerServer';
import { ManagedCages } from '../managedCages';
import { managerExecutors } from '../managerExecutors';

const HIGH_UID = 61823;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let table: ReturnType<typeof managerExecutors>;
const cages = new ManagedCages();

const linksIn = (pid: number) => execFileSync('nsenter', ['-t', String(pid), '-n', '--', 'ip', '-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
const gosFor = (ifname: string) => spawnSync('pgrep', ['-f', `wireguard-go.*${ifname}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  root = testRoot('cloison-wgrr-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  const key = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
  const peerKey = execFileSync('wg', ['pubkey'], { input: execFileSync('wg', ['genkey']), encoding: 'utf8' }).trim();
  const conf = join(root, 'wg-high.conf');
  writeFileSync(conf, `[Interface]\nPrivateKey = ${key}\nAddress = 10.99.9.2/32\n\n[Peer]\nPublicKey = ${peerKey}\nEndpoint = 127.0.0.1:51998\nAllowedIPs = 10.99.9.0/24\n`, { mode: 0o600 });
  const high = bwrapCage({ uid: HIGH_UID, limits: SMALL }).replace('network: none', `network: { mode: wireguard, config: ${conf} }`);
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 61822, limits: SMALL }), high }), 'p.yaml');
  const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  table = managerExecutors({ policy: () => policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null, hostSound: () => null, cages, part: () => null, onSleep: () => undefined });
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: table.executors,
  });
  await server.listen();
}, 30_000);

afterAll(async () => {
  await server?.close();
  table?.stop();
  for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 90_000);

describe('network.wireguard asked twice at once after the cage started again', () => {
  it('is refused both times: the new cage keeps the one tunnel its driver opened', async () => {
    const ask = (...requests: unknown[]) => sendFramesAs(cloison, join(root, 'manager.sock'), requests.map((request, i) => ({ json: { id: i + 1, request } })));
    const ifname = tunnelInterfaceName('high', bwrapCagePaths(join(root, 'state'), join(root, 'run'), 'high').run);
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
