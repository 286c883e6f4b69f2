/**
 * `sleep.inhibit` behind the real manager socket, asked by a real process of the part's account,
 * against the machine's real systemd-logind on a system bus of the test's own (as
 * session/sleepGuard.test.ts). Seen with an executor acting on each request as given (a guard per
 * request): four requests held four delay inhibitors — each one more way for a compromised part
 * to hold the machine's sleep back — and four watchers. Now one inhibitor however often it asks,
 * taken again after a resume; the sleep is announced to the manager once.
 */
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { SleepGuard } from '../session/sleepGuard';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { busctl, privateLogindUnavailable, startPrivateLogind, type PrivateLogind } from '../testing/privateLogind';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { skipWithReason } from '../testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer, type RootExecutors } from './cageManagerServer';
import { sleepInhibitExecutor } from './sleepInhibitExecutor';

const unavailable = privateLogindUnavailable();
let logind: PrivateLogind | null = null;
let root: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
let execute: NonNullable<RootExecutors['sleep.inhibit']>;
const guards: SleepGuard[] = [];
let mine: ReturnType<typeof sleepInhibitExecutor> | null = null;
const announced: string[] = [];

const ours = async () => ((await busctl(logind!.address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'ListInhibitors'])).stdout.match(/"Cloison"/g) ?? []).length;
const ask = async (times: number) => (await sendFramesAs(cloison, join(root, 'manager.sock'), Array.from({ length: times }, (_, id) => ({ json: { id, request: { op: 'sleep.inhibit' } } })))).replies;

beforeAll(async () => {
  if (unavailable) return;
  logind = await startPrivateLogind();
  root = testRoot('cloison-sx-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 61800 }), high: bwrapCage({ uid: 61801 }) }), 'p.yaml');
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'sleep.inhibit': (req, peer) => execute(req, peer) },
  });
  await server.listen();
}, 30_000);

afterAll(async () => {
  for (const guard of guards) guard.stop();
  mine?.stop();
  await server?.close();
  journal?.close();
  cloison?.remove();
  logind?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('sleep.inhibit (real logind on a private bus)', () => {
  it('holds one inhibitor however often asked; the sleep is announced once; taken again on resume', async (ctx) => {
    if (unavailable) skipWithReason(ctx, unavailable);
    mine = sleepInhibitExecutor({ onSleep: () => announced.push('sleep'), settleMs: 200, env: { DBUS_SYSTEM_BUS_ADDRESS: logind!.address } });
    execute = mine;
    const replies = await ask(4);
    expect(replies).toHaveLength(4);
    expect(replies.every((r) => (r as { ok: boolean }).ok)).toBe(true);
    expect(await ours()).toBe(1);
    expect(await ask(2)).toEqual([expect.objectContaining({ result: { state: 'logind' } }), expect.objectContaining({ result: { state: 'logind' } })]);
    expect(await ours()).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // the monitor is listening
    await busctl(logind!.address, ['emit', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep', 'b', 'true']);
    await waitFor(() => announced.length === 1, 'the sleep announced');
    await waitFor(async () => (await ours()) === 0, 'the inhibitor let go for the sleep');
    await busctl(logind!.address, ['emit', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep', 'b', 'false']);
    await waitFor(async () => (await ours()) === 1, 'the inhibitor again');
    expect(announced).toEqual(['sleep']);
  }, 30_000);
});
