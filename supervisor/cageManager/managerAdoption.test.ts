/**
 * A cage left running by an earlier cage manager (killed with SIGKILL: the cages outlive it) is
 * adopted by the next manager's `cage.start`, not replaced: the same sandbox, the user's work in it
 * still going, asked by a real process of the `cloison` account on a real CageManagerServer. A cage
 * left running whose definition changed in the policy meanwhile is not adopted: it is ended and a
 * fresh one starts, the answer saying why. The earlier manager is a process of its own started from
 * the very options this manager derives (orphanCage.ts).
 *
 * Seen with the executor as it was (a fresh start on every `cage.start`): the cage left running was
 * replaced — its sandbox gone, the counter its user ran stopped with it.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint } from '../cages/cageMounts';
import { isSameProcess, processIdentity } from '../cages/cageRecord';
import { parsePolicy } from '../policy/policyLoader';
import { startInCage } from '../testing/enterCage';
import { startOrphanCageWith, type OrphanCage } from '../testing/orphanCage';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { cageShell, testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer } from './cageManagerServer';
import { cageDriverOptions, cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { ManagedCages } from './managedCages';
import { processNamesOf } from '../testing/cageProcesses';

const LOW_UID = 58754;
const HIGH_UID = 58755;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) });
const policy = () => parsePolicy(POLICY, 'p.yaml');

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let socketPath: string;
let folders: { stateDir: string; runDir: string };
const cages = new ManagedCages();
const orphans: OrphanCage[] = [];

beforeAll(async () => {
  root = testRoot('cloison-ma-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }) },
  });
  await server.listen();
}, 30_000);

afterAll(async () => {
  for (const level of cages.levels()) await cages.cage(level)?.stop();
  await server?.close();
  journal?.close();
  cloison?.remove();
  // Kills whatever an orphan left (a failed run), unmounts, and removes the root.
  for (const orphan of orphans) await orphan.cleanUp();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

/** The process at `pid` now, as it was when first looked at: gone (a zombie is gone) once it ended. */
function watchProcess(pid: number): () => boolean {
  const identity = processIdentity(pid);
  return () => identity !== null && isSameProcess(identity);
}

async function stopLow(): Promise<void> {
  expect(await cageStopExecutor({ cages })({ op: 'cage.stop', level: 'low' })).toMatchObject({ stopped: true });
  const paths = bwrapCagePaths(folders.stateDir, folders.runDir, 'low');
  expect(isMountPoint(paths.home) || isMountPoint(paths.scratch)).toBe(false);
  expect(processNamesOf(LOW_UID)).toEqual([]);
}

describe('the cage manager takes back a cage left running by an earlier manager', () => {
  it('adopts it on the cloison part\'s cage.start: the same sandbox, its user\'s work still running; then stops it cleanly', async () => {
    const orphan = await startOrphanCageWith(cageDriverOptions(policy(), folders, 'low'), root);
    orphans.push(orphan);
    const sandbox = watchProcess(orphan.innerPid);
    const sh = cageShell(orphan.innerPid, LOW_UID);
    const counter = async () => Number((await sh('cat "$HOME/counter" 2>/dev/null || echo 0')).stdout.trim() || 0);
    startInCage({ innerPid: orphan.innerPid, uid: LOW_UID }, 'i=0; while true; do i=$((i+1)); echo $i > "$HOME/counter"; sleep 0.1; done');
    await waitFor(async () => (await counter()) > 3, 'the counter in the cage');

    const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request: { op: 'cage.start', level: 'low', uid: LOW_UID } } }]);
    console.log(JSON.stringify(outcome));
    expect(outcome.replies).toEqual([{ id: 1, ok: true, result: { innerPid: orphan.innerPid, adopted: true } }]);
    expect(cages.cage('low')?.innerPid).toBe(orphan.innerPid);
    const before = await counter();
    await waitFor(async () => (await counter()) > before + 3, 'the counter still counting after the adoption');
    await stopLow();
    expect(sandbox()).toBe(false);
  }, 120_000);

  it('does not adopt one whose definition changed in the policy: ends it, starts a fresh cage and says why', async () => {
    const options = cageDriverOptions(policy(), folders, 'low');
    const orphan = await startOrphanCageWith({ ...options, cage: { ...options.cage, limits: { ...options.cage.limits, tasks: options.cage.limits.tasks - 1 } } }, root);
    orphans.push(orphan);
    const sandbox = watchProcess(orphan.innerPid);
    const answer = await cageStartExecutor({ policy, ...folders, cages })({ op: 'cage.start', level: 'low', uid: LOW_UID });
    expect(answer).toMatchObject({ adopted: false, notAdopted: expect.stringMatching(/definition changed/) });
    expect(answer.innerPid).not.toBe(orphan.innerPid);
    expect(sandbox()).toBe(false);
    await stopLow();
  }, 120_000);
});
