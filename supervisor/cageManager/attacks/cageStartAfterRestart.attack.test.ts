/**
 * Attack (on the cage manager's cage.start executor, issue #29): the manager died while a level's
 * cage runs. Cages outlive the process that started them by design (bwrapDriver.ts: no
 * --die-with-parent, "the next one re-adopts it"; a manager stopped by SIGTERM stops them, one that
 * dies cannot); but the
 * manager's map of running cages (managedCages.ts) is only in its memory, and cage.start calls the
 * driver's start() without its adopt(). A new manager then knows nothing of the running cage:
 * `cage.start` for that level is not refused as "running already", and `cage.stop` answers that
 * nothing runs while the cage still does.
 *
 * Two CageManagerServers over the same state and run folders stand for the manager before and
 * after its restart (each with its own map, as two processes have); the requests come from a real
 * process of the `cloison` account. Expected of a safe manager: after the restart, the running cage
 * goes on (adopted, or the start refused), no second one beside it, and a stop that stops it.
 * Seen before adoption: the new manager's start made the level's control group again, which killed the
 * running cage (the user's session, unsaved work), and failed itself ("cage session ended
 * (SIGKILL)"); with a cage that survived that (no control group), two would run.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { CageManagerServer } from '../cageManagerServer';
import { cageStartExecutor } from '../cageStartExecutor';
import { cageStopExecutor } from '../cageStopExecutor';
import { ManagedCages } from '../managedCages';
import { xvncPidsOf } from '../../testing/cageProcesses';

const LOW_UID = 58912;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: 58913, limits: SMALL }) });

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
const maps: ManagedCages[] = [];
const servers: CageManagerServer[] = [];
const policy = () => parsePolicy(POLICY, 'p.yaml');

/** A manager over the shared folders, with a map of its own (a process of its own has one). */
async function manager(name: string): Promise<{ socket: string; server: CageManagerServer }> {
  const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  const cages = new ManagedCages();
  maps.push(cages);
  const socket = join(root, `${name}.sock`);
  const server = new CageManagerServer({
    socketPath: socket,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }) },
  });
  await server.listen();
  servers.push(server);
  return { socket, server };
}


beforeAll(() => {
  root = testRoot('cloison-rv-cs-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
});

afterAll(async () => {
  for (const s of servers) await s.close().catch(() => undefined);
  for (const cages of maps) for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  // Whatever no map holds any more (the attack's outcome): the level's processes ended by their uid's.
  for (const pid of spawnSync('pgrep', ['-u', String(LOW_UID)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const m of ['run/low/scratch', 'state/cages/low/home']) spawnSync('umount', ['-l', join(root, m)]);
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('cage.start after the manager restarted, its level\'s cage still running', () => {
  it('leaves the running cage running (adopted or the start refused), no second one, and a stop stops it', async () => {
    const before = await manager('before');
    const first = await sendFramesAs(cloison, before.socket, [{ json: { id: 1, request: { op: 'cage.start', level: 'low', uid: LOW_UID } } }]);
    expect(first.replies[0]).toMatchObject({ ok: true });
    const firstXvnc = xvncPidsOf(LOW_UID);
    expect(firstXvnc).toHaveLength(1);
    // The manager dies: its socket closes (only the server is closed here, as a killed manager's is), its cages run on.
    await before.server.close();
    const after = await manager('after');
    const second = await sendFramesAs(cloison, after.socket, [{ json: { id: 2, request: { op: 'cage.start', level: 'low', uid: LOW_UID } } }]);
    await new Promise((r) => setTimeout(r, 1000));
    const xvncs = xvncPidsOf(LOW_UID);
    const stop = await sendFramesAs(cloison, after.socket, [{ json: { id: 3, request: { op: 'cage.stop', level: 'low' } } }]);
    await new Promise((r) => setTimeout(r, 1000));
    const afterStop = xvncPidsOf(LOW_UID);
    console.log(`after the manager's restart: cage.start answered ${JSON.stringify(second.replies[0]).slice(0, 300)}; Xvnc processes of the level's uid: ${xvncs.length} (${xvncs.join(', ')}); cage.stop answered ${JSON.stringify(stop.replies[0]).slice(0, 200)}; Xvnc left: ${afterStop.length}`);
    // The level's session goes on (adopted, or the start refused as running already): one Xvnc, the first's.
    expect(xvncs, 'Xvnc processes of the level after the second start').toEqual(firstXvnc);
    expect(afterStop, 'Xvnc processes of the level after cage.stop').toHaveLength(0);
  }, 120_000);
});
