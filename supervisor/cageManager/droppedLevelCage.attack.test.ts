/**
 * Attack (review of the cage manager, issue #29): the administrator removes a level from the
 * policy (managerMain.ts reloads it on SIGHUP) while that level's cage runs. Nothing stops the
 * dropped level's cage, and every request naming the level is refused from then on by the
 * authorization ("no level ... in the running policy") — `cage.stop` included: the cage runs on,
 * with its home, its network and whatever keys it holds, and neither the part nor the manager can
 * stop it any more. The policy no longer implies that cage; the manager still runs it.
 *
 * The running policy is a function the test switches, as the manager's SIGHUP does; the cage is a
 * real bwrap cage started through `cage.start`; the requests come from a real `cloison`-account
 * process. Expected of a safe manager: once the level is dropped, its cage stopped by the manager
 * or, at the least, `cage.stop` for it honoured.
 *
 * Now: the authorization sees the manager's cages (`holdsCage`, managedCages.ts `holds`): `cage.stop`
 * and `cage.wait` of a level with a running cage are allowed though the policy no longer names it;
 * every other request for that level is refused as before, and so is `cage.stop` once its cage is gone.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer } from './cageManagerServer';
import { cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { cageWaitExecutor } from './cageWaitExecutor';
import { ManagedCages } from './managedCages';
import { xvncPidsOf } from '../testing/cageProcesses';

const HIGH_UID = 58773;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const withHigh = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58772, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) }), 'p.yaml');
const withoutHigh = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58772, limits: SMALL }), high: bwrapCage({ uid: 58774, limits: SMALL }) }).replace('- id: high', '- id: other'), 'p.yaml');

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let running: Policy = withHigh;
const cages = new ManagedCages();
const policy = () => running;

beforeAll(async () => {
  root = testRoot('cloison-rv-dl-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  const folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null, holdsCage: cages.holds },
    executors: { 'cage.start': cageStartExecutor({ policy, ...folders, cages }), 'cage.stop': cageStopExecutor({ cages }), 'cage.wait': cageWaitExecutor({ cages }) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  for (const level of cages.levels()) await cages.cage(level)?.stop().catch(() => undefined);
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('a level dropped from the running policy while its cage runs', () => {
  it('has its cage stopped, or at least stoppable', async () => {
    const ask = (request: unknown) => sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 1, request } }]);
    expect((await ask({ op: 'cage.start', level: 'high', uid: HIGH_UID })).replies[0]).toMatchObject({ ok: true });
    expect(xvncPidsOf(HIGH_UID)).toHaveLength(1);
    running = withoutHigh; // the administrator's new policy, as SIGHUP loads it
    // Nothing but stop and wait for the dropped level.
    expect((await ask({ op: 'cage.start', level: 'high', uid: HIGH_UID })).replies[0]).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'no level "high" in the running policy' } });
    expect((await ask({ op: 'cage.vncSocket', level: 'high' })).replies[0]).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'no level "high" in the running policy' } });
    const both = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 1, request: { op: 'cage.wait', level: 'high' } } }, { json: { id: 2, request: { op: 'cage.stop', level: 'high' } } }]);
    const stop = { replies: both.replies.filter((r) => (r as { id: number }).id === 2) };
    const wait = both.replies.find((r) => (r as { id: number }).id === 1);
    expect(stop.replies[0]).toMatchObject({ ok: true, result: { stopped: true } });
    expect(wait).toMatchObject({ ok: true, result: { reason: (stop.replies[0] as { result: { reason: string } }).result.reason } });
    // Its cage gone, the level is the policy's business again: refused.
    expect((await ask({ op: 'cage.stop', level: 'high' })).replies[0]).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'no level "high" in the running policy' } });
    await new Promise((r) => setTimeout(r, 1000));
    const left = xvncPidsOf(HIGH_UID);
    console.log(`level high dropped from the policy: cage.stop answered ${JSON.stringify(stop.replies[0]).slice(0, 200)}; the manager's map: ${cages.levels().join(', ') || 'empty'}; Xvnc of high's uid: ${left.length}`);
    expect(left, "high's cage after it was dropped and asked to stop").toHaveLength(0);
  }, 120_000);
});
