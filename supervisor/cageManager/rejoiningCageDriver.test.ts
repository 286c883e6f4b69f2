/**
 * RejoiningCageDriver (the fleet's driver in the cloison part) when its connection to the cage
 * manager is lost, against a real CageManagerServer with the cage executors and a real bwrap cage.
 * The driver runs in the test's own process (root, the server's peer for this test): what is
 * tested is how it reads a lost connection, not the manager's gate (splitSupervisor.test.ts runs it
 * as the cloison account). Seen with the plain RemoteCageDriver (remoteCageDriverLostConnection.test.ts):
 * `exited` rejected and `stop()` failed while the cage ran on; here the cage's end is the manager's
 * word only, its stop goes through the next connection, and no second cage is ever started.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { xvncPidsOf } from '../testing/cageProcesses';
import { testRoot } from '../testing/realCage';
import { waitFor } from '../testing/waitFor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer } from './cageManagerServer';
import { cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { cageWaitExecutor } from './cageWaitExecutor';
import { ManagedCages } from './managedCages';
import { connectManagerLink, type ManagerLink } from './managerLink';
import { RejoiningCageDriver } from './rejoiningCageDriver';
import type { HandedSockets } from './socketHandOver';

const LOW_UID = 58840;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: 58841, limits: SMALL }) });

let root: string;
let journal: FileAuditJournal;
let socketPath: string;
let folders: { stateDir: string; runDir: string };
const servers: CageManagerServer[] = [];
const maps: ManagedCages[] = [];
const links: Array<ManagerLink & { close(): void }> = [];
const policy = () => parsePolicy(POLICY, 'p.yaml');
const noHandOver = { take: () => Promise.reject(new Error('no socket is handed over in this test')) } as unknown as HandedSockets;

/** A manager on the one socket over `cages` (the same map: the manager's connection only was cut; a new map: a manager restarted). */
async function serve(cages: ManagedCages): Promise<CageManagerServer> {
  const server = new CageManagerServer({
    socketPath,
    peerUid: process.getuid!(),
    peerGid: process.getgid!(),
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), holdsCage: cages.holds, workstationUser: null },
    executors: { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }), 'cage.wait': cageWaitExecutor({ cages }) },
  });
  await server.listen();
  servers.push(server);
  return server;
}

async function driver(): Promise<{ driver: RejoiningCageDriver; logs: string[] }> {
  const link = await connectManagerLink(socketPath, { retryMs: 50 });
  links.push(link);
  const logs: string[] = [];
  return { driver: new RejoiningCageDriver({ link, handed: noHandOver, level: 'low', uid: LOW_UID, policy, ...folders, log: (msg) => logs.push(msg) }), logs };
}

const settledYet = async (p: Promise<unknown>) => Promise.race([p.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 300))]);

beforeAll(() => {
  root = testRoot('cloison-rjd-');
  chmodSync(root, 0o711);
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
});

afterAll(async () => {
  for (const link of links) link.close();
  for (const server of servers) await server.close();
  for (const cages of maps) for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  journal?.close();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('RejoiningCageDriver', () => {
  it('a cut connection is no end: the cage runs on, is waited for over the next connection, and its end comes from the manager', async () => {
    const cages = new ManagedCages();
    maps.push(cages);
    await serve(cages);
    const { driver: d, logs } = await driver();
    const cage = await d.start();
    const xvnc = xvncPidsOf(LOW_UID);
    expect(xvnc).toHaveLength(1);
    await servers.at(-1)!.close();
    expect(await settledYet(cage.exited)).toBe(false);
    await serve(cages);
    await waitFor(() => logs.length >= 2, 'the driver connected again');
    expect(logs).toEqual(['cage manager connection lost: connecting again to ask for the cage', 'cage manager connected again: the cage waited for anew']);
    expect(xvncPidsOf(LOW_UID)).toEqual(xvnc);
    expect(await settledYet(cage.exited)).toBe(false);
    process.kill(cages.innerPidOf('low')!, 'SIGKILL');
    const exit = await cage.exited;
    expect(exit.reason).toMatch(/^cage session ended/);
    expect(xvncPidsOf(LOW_UID)).toEqual([]);
  }, 120_000);

  it('a stop while the connection is lost goes through the next one: the cage stopped', async () => {
    const cages = new ManagedCages();
    maps.push(cages);
    await serve(cages);
    const { driver: d } = await driver();
    const cage = await d.start();
    await servers.at(-1)!.close();
    const stopping = cage.stop();
    setTimeout(() => void serve(cages), 300);
    await stopping;
    expect(cages.state('low')).toBe('stopped');
    expect(xvncPidsOf(LOW_UID)).toEqual([]);
    expect((await cage.exited).reason).toMatch(/./);
  }, 120_000);

  it('a manager restarted that holds no cage of the level: the watch ends saying so (the lifecycle\'s cage.start then adopts), nothing started by the driver', async () => {
    const cages = new ManagedCages();
    maps.push(cages);
    await serve(cages);
    const { driver: d } = await driver();
    const cage = await d.start();
    const xvnc = xvncPidsOf(LOW_UID);
    await servers.at(-1)!.close();
    const restarted = new ManagedCages();
    maps.push(restarted);
    await serve(restarted);
    const exit = await cage.exited;
    expect(exit.reason).toMatch(/^the cage manager did not say how cage low ended \(.*nothing to wait for.*\): started again through it/);
    expect(restarted.state('low')).toBe('stopped');
    expect(xvncPidsOf(LOW_UID)).toEqual(xvnc);
    // The restart the lifecycle then makes: cage.start, which adopts the cage left running.
    const again = await d.start();
    expect(xvncPidsOf(LOW_UID)).toEqual(xvnc);
    await again.stop();
    expect(xvncPidsOf(LOW_UID)).toEqual([]);
  }, 120_000);
});
