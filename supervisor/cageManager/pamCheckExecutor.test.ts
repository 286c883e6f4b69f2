/**
 * `pam.check` behind the real manager socket, asked by a real process of the part's account,
 * checked by the machine's real PAM (pamtester as the workstation's test user). A compromised part
 * guessing passwords:
 *   - seen with an executor acting on each request as given (today's checkUnlockPassword, once
 *     per request): eight guesses sent at once were all checked, and the eighth — the right one —
 *     answered true. Now the first is checked, the seven others answered `waiting` unchecked (its
 *     failure's count and wait, as numbers: no sentence for the part to parse), the right one among
 *     them, and none of them counted;
 *   - the count outlives the manager: a new executor on the same state file still refuses, and a
 *     check in progress is already counted in the file (a manager killed mid-check forgets nothing);
 *   - another account's password is refused before PAM, journaled without the password.
 */
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { pamCheckExecutor } from './pamCheckExecutor';
import type { RequestOf } from './requests';

let root: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let workstation: PamTestUser;
let stranger: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
let policy: Policy;
let failuresFile: string;
let execute: (req: RequestOf<'pam.check'>) => Promise<unknown>;

const identity = () => ({ name: workstation.user, uid: workstation.uid, gid: workstation.gid });
const guesses = () => [...Array.from({ length: 7 }, (_, i) => `guess-${i}-${workstation.password}`), workstation.password];

beforeAll(async () => {
  root = testRoot('cloison-px-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  workstation = createPamTestUser();
  stranger = createPamTestUser();
  policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58797 }), high: bwrapCage({ uid: 58798 }) }, `session: { pamService: ${workstation.service} }\n`), 'p.yaml');
  failuresFile = join(root, 'manager-unlock-failures.json');
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: workstation.user },
    executors: { 'pam.check': (req) => execute(req) },
  });
  await server.listen();
}, 30_000);

afterAll(async () => {
  await server?.close();
  journal?.close();
  for (const user of [cloison, workstation, stranger]) user?.remove();
  rmSync(root, { recursive: true, force: true });
});

const guessAll = async () => (await sendFramesAs(cloison, socketPath, guesses().map((password, id) => ({ json: { id, request: { op: 'pam.check', user: workstation.user, password } } })))).replies as Array<{ id: number; ok: boolean; result?: { ok: boolean; waiting?: true; failures: number; retryInMs: number }; error?: { code: string } }>;

describe('pam.check', () => {
  it('checks one guess, answers the others waiting, unchecked and uncounted; the count outlives the executor', async () => {
    execute = pamCheckExecutor({ policy: () => policy, workstationUser: identity(), failuresFile });
    const replies = await guessAll();
    console.log(`pam.check, 8 guesses at once: ${JSON.stringify(replies.map((r) => (r.ok ? r.result : r.error?.code)))}`);
    expect(replies).toHaveLength(8);
    expect(replies.every((r) => r.ok)).toBe(true);
    const checked = replies.filter((r) => !r.result!.waiting);
    expect(checked).toEqual([{ id: 0, ok: true, result: { ok: false, failures: 1, retryInMs: expect.any(Number) } }]);
    // The seven others, the right password among them: not checked, the one failure's count and wait.
    const waiting = replies.filter((r) => r.result!.waiting);
    expect(waiting.map((r) => r.result)).toEqual(Array(7).fill({ ok: false, waiting: true, failures: 1, retryInMs: expect.any(Number) }));
    for (const r of waiting) expect(r.result!.retryInMs).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(failuresFile, 'utf8'))).toMatchObject({ failures: 1 });
    // A manager started again (a new executor, the same state file) still makes the part wait.
    execute = pamCheckExecutor({ policy: () => policy, workstationUser: identity(), failuresFile });
    const after = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request: { op: 'pam.check', user: workstation.user, password: workstation.password } } }]);
    expect(after.replies).toEqual([{ id: 1, ok: true, result: { ok: false, waiting: true, failures: 1, retryInMs: expect.any(Number) } }]);
  }, 60_000);

  it('counts a check in progress before PAM answers; a success clears the count', async () => {
    await new Promise((r) => setTimeout(r, JSON.parse(readFileSync(failuresFile, 'utf8')).retryAt - Date.now() + 50));
    const executor = pamCheckExecutor({ policy: () => policy, workstationUser: identity(), failuresFile });
    const checking = executor({ op: 'pam.check', user: workstation.user, password: workstation.password });
    // A manager killed now would find this attempt counted.
    expect(JSON.parse(readFileSync(failuresFile, 'utf8'))).toMatchObject({ failures: 2 });
    expect(await checking).toEqual({ ok: true });
    expect(existsSync(failuresFile)).toBe(false);
  }, 30_000);

  it('refuses another account\'s password before PAM, journaled without it; no password is in the journal', async () => {
    execute = pamCheckExecutor({ policy: () => policy, workstationUser: identity(), failuresFile });
    const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request: { op: 'pam.check', user: stranger.user, password: stranger.password } } }]);
    expect(outcome.replies).toEqual([expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'POLICY_DENIED' }) })]);
    const text = readFileSync(journal.path, 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND).at(-1)).toMatchObject({ op: 'pam.check', peerUid: cloison.uid });
    for (const secret of [...guesses(), stranger.password]) expect(text).not.toContain(secret);
    expect(existsSync(failuresFile)).toBe(false);
  }, 30_000);
});
