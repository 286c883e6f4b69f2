/**
 * RemoteCageDriver when its connection to the cage manager is lost while a cage runs (the review's
 * hungXChain attack: the manager closed the part's connection past its in-flight bound, and the
 * driver took the failed `cage.wait` for the cage's end — "the cage manager did not say how cage low
 * ended" — while the cage ran on, and its `stop()`, taking it for ended, asked nothing: a running
 * cage nobody held). Now `exited` rejects with a CageEndUnknown (not an end), `stop()` fails as the
 * connection does instead of saying stopped, and the fleet's way back works: a new connection's
 * `cage.wait` is pending on the same running cage, and its `cage.stop` stops it.
 *
 * Real parts: a real CageManagerServer with the cage executors, a real bwrap cage. The driver runs in
 * the test's own process (root, the server's peer uid for this test): what is tested is the driver's
 * reading of a lost connection, not the manager's gate (cageStart.test.ts, remoteCageDriver.test.ts).
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerClient } from './cageManagerClient';
import { CageManagerServer } from './cageManagerServer';
import { cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { cageWaitExecutor } from './cageWaitExecutor';
import { ManagedCages } from './managedCages';
import { CageEndUnknown, RemoteCageDriver } from './remoteCageDriver';
import type { HandedSockets } from './socketHandOver';
import { xvncPidsOf } from '../testing/cageProcesses';

const LOW_UID = 58775;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: 58776, limits: SMALL }) });

let root: string;
let journal: FileAuditJournal;
const servers: CageManagerServer[] = [];
const cages = new ManagedCages();
const policy = () => parsePolicy(POLICY, 'p.yaml');
/** openVnc is not used here: no socket is handed over in this test. */
const noHandOver = { take: () => Promise.reject(new Error('no socket is handed over in this test')) } as unknown as HandedSockets;

async function managerAt(name: string): Promise<string> {
  const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  const socketPath = join(root, name);
  const server = new CageManagerServer({
    socketPath,
    peerUid: process.getuid!(),
    peerGid: process.getgid!(),
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }), 'cage.wait': cageWaitExecutor({ cages }) },
  });
  await server.listen();
  servers.push(server);
  return socketPath;
}

beforeAll(() => {
  root = testRoot('cloison-rcd-lost-');
  chmodSync(root, 0o711);
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
});

afterAll(async () => {
  for (const server of servers) await server.close();
  for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  journal?.close();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('RemoteCageDriver with its manager connection lost', () => {
  it('does not take the lost connection for the cage\'s end: exited rejects with CageEndUnknown, stop() fails, the cage runs on and is found again over a new connection', async () => {
    const first = await managerAt('manager-1.sock');
    const driver = new RemoteCageDriver({ client: await CageManagerClient.connect(first), handed: noHandOver, level: 'low', uid: LOW_UID, policy, stateDir: join(root, 'state'), runDir: join(root, 'run') });
    const cage = await driver.start();
    expect(xvncPidsOf(LOW_UID)).toHaveLength(1);
    let resolvedAs: string | null = null;
    void cage.exited.then((exit) => (resolvedAs = exit.reason), () => undefined);

    await servers[0]!.close(); // the part's connection ends; the manager (its map of cages) runs on
    const lost = await cage.exited.then(
      (exit) => ({ resolved: exit.reason }),
      (err: unknown) => err,
    );
    console.log(`exited after the connection was lost: ${lost instanceof Error ? `rejected ${lost.name} [${(lost as CageEndUnknown).code}] ${lost.message}` : JSON.stringify(lost)}`);
    expect(lost).toBeInstanceOf(CageEndUnknown);
    expect(lost).toMatchObject({ level: 'low', message: expect.stringMatching(/^cage low's end is not known \(.*\): it may run on/) });
    expect(resolvedAs).toBeNull();
    // stop() does not say stopped while the cage may run: it asks, and fails as the connection does.
    await expect(cage.stop()).rejects.toThrow(/cage\.stop for level low/);
    expect(xvncPidsOf(LOW_UID)).toHaveLength(1);
    expect(cages.state('low')).toBe('running');

    // The fleet's way back: a new connection; a new start is refused (the manager runs the level's cage), its wait is pending on it.
    const client = await CageManagerClient.connect(await managerAt('manager-2.sock'));
    await expect(client.request({ op: 'cage.start', level: 'low', uid: LOW_UID })).rejects.toThrow(/cage low is running already/);
    let waited: string | null = null;
    const wait = client.request({ op: 'cage.wait', level: 'low' }).then((a) => (waited = (a as { reason: string }).reason));
    await new Promise((r) => setTimeout(r, 300));
    expect(waited).toBeNull();
    const stopped = (await client.request({ op: 'cage.stop', level: 'low' })) as { stopped: boolean; reason: string };
    await wait;
    expect(stopped.stopped).toBe(true);
    expect(waited).toBe(stopped.reason);
    expect(xvncPidsOf(LOW_UID)).toHaveLength(0);
  }, 120_000);
});
