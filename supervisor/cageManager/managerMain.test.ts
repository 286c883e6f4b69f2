/**
 * The cage manager's entry point as a real process (as root, as the unit will start it): it
 * restricts itself (the root part's bounding set and filter), loads the policy, listens, and
 * answers a real process of the part's account end to end; another local user is cut off and
 * journaled; a password checked through it appears neither in its journal nor in its stderr; a
 * SIGHUP with a policy that no longer names a level refuses that level's requests at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { REFUSED_KIND } from './cageManagerServer';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

const UIDS = { low: 58790, high: 58791 };
const REPO = resolve(__dirname, '..', '..');

let root: string;
let state: string;
let policyFile: string;
let socketPath: string;
let cloison: PamTestUser;
let stranger: PamTestUser;
let workstation: PamTestUser;
let manager: ChildProcess | null = null;
let stderr = '';

const policyText = (high: string) =>
  twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }, `session: { pamService: ${workstation.service} }\n`).replace('- id: high', `- id: ${high}`);

const journalText = () => readFileSync(join(state, MANAGER_JOURNAL_FILE), 'utf8');
const refusals = () => journalText().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);

async function ask(request: unknown): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return outcome.replies[0] as never;
}

beforeAll(async () => {
  root = testRoot('cloison-mm-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  for (const level of ['low', 'high']) mkdirSync(join(state, 'cages', level, 'sockets'), { recursive: true });
  cloison = createPamTestUser();
  stranger = createPamTestUser();
  workstation = createPamTestUser();
  policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, policyText('high'));
  socketPath = join(root, 'run', 'cage-manager.sock');
  manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', join(root, 'run'), '--peer-user', cloison.user, '--shell-user', workstation.user, '--no-part'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    manager!.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
    createInterface({ input: manager!.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
  });
  expect(listening).toMatchObject({ listening: true, socket: socketPath, workstationUser: workstation.user });
}, 60_000);

afterAll(async () => {
  if (manager && manager.exitCode === null) {
    const gone = new Promise((r) => manager!.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
  for (const user of [cloison, stranger, workstation]) user?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('the cage manager as a process of its own', () => {
  it('runs restricted as the root part does: its bounding set, its filter', () => {
    const status = readFileSync(`/proc/${manager!.pid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+0\s/m);
    expect(status).toMatch(/^CapBnd:\s+00000000802c15eb$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(statSync(socketPath)).toMatchObject({ uid: cloison.uid, mode: expect.any(Number) });
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
  });

  it('answers the part\'s account end to end: a level\'s folder given to its uid', async () => {
    const dir = join(state, 'cages', 'low', 'sockets');
    expect(await ask({ op: 'state.chown', level: 'low', path: dir, uid: UIDS.low })).toEqual({ id: 1, ok: true, result: { uid: UIDS.low } });
    expect(statSync(dir).uid).toBe(UIDS.low);
  });

  it('cuts another local user off: the socket file refuses them; one that gets through (root) is cut off before a byte is read, and journaled', async () => {
    const outcome = await sendFramesAs(stranger, socketPath, [{ json: { id: 1, request: { op: 'state.chown', level: 'low', path: join(state, 'cages', 'low'), uid: 0 } } }]);
    console.log(`another user (uid ${stranger.uid}) on the manager's socket: ${JSON.stringify(outcome)}`);
    expect(outcome).toMatchObject({ replies: [], error: 'EACCES' });
    // Root passes the file's mode: SO_PEERCRED is what refuses it.
    const seen = refusals().length;
    const closedBy = await new Promise<string>((resolve) => {
      const s = connect(socketPath);
      s.on('connect', () => s.write(Buffer.from([0, 0, 0, 2, 0x7b, 0x7d])));
      s.on('data', () => resolve('answered'));
      s.on('error', () => undefined);
      s.on('close', () => resolve('closed'));
    });
    expect(closedBy).toBe('closed');
    await waitFor(() => refusals().length > seen, 'the journal');
    expect(refusals().slice(seen)).toEqual([expect.objectContaining({ actor: 'uid:0', op: '(connection)', peerUid: 0 })]);
  });

  it('checks the workstation user\'s password, counts a failure, and never writes a password down', async () => {
    const wrong = `Wrong-${workstation.password}-x`;
    expect(await ask({ op: 'pam.check', user: workstation.user, password: workstation.password })).toEqual({ id: 1, ok: true, result: { ok: true } });
    // The right password at once, behind the wrong one on the same connection (a later process could
    // come after PAM's own delay has used up the wait): the failure's wait comes first.
    const both = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request: { op: 'pam.check', user: workstation.user, password: wrong } } }, { json: { id: 2, request: { op: 'pam.check', user: workstation.user, password: workstation.password } } }]);
    const reply = (id: number) => both.replies.find((r) => (r as { id: number }).id === id);
    expect(reply(1)).toEqual({ id: 1, ok: true, result: { ok: false, failures: 1, retryInMs: expect.any(Number) } });
    expect(reply(2)).toEqual({ id: 2, ok: true, result: { ok: false, waiting: true, failures: 1, retryInMs: expect.any(Number) } });
    // The wait runs from PAM's answer: the whole 3 s, not what PAM's own failure delay left of it.
    console.log(`after a wrong password: ${JSON.stringify(reply(1))}`);
    expect((reply(1) as { result: { retryInMs: number } }).result.retryInMs).toBeGreaterThan(2500);
    // Another account's password: refused before PAM, journaled without the password.
    const other = await ask({ op: 'pam.check', user: stranger.user, password: stranger.password });
    expect(other).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect(refusals().at(-1)).toMatchObject({ op: 'pam.check', peerUid: cloison.uid });
    for (const secret of [workstation.password, wrong, stranger.password]) {
      expect(journalText()).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
    expect(readFileSync(join(state, 'manager-unlock-failures.json'), 'utf8')).toMatch(/"failures":1/);
  }, 30_000);

  it('SIGHUP with a policy that no longer names a level: that level\'s requests are refused at once', async () => {
    const dir = join(state, 'cages', 'high', 'sockets');
    expect((await ask({ op: 'state.chown', level: 'high', path: dir, uid: UIDS.high })).ok).toBe(true);
    writeFileSync(policyFile, policyText('top'));
    manager!.kill('SIGHUP');
    await waitFor(() => stderr.includes('policy reloaded'), 'the reload');
    const refused = await ask({ op: 'state.chown', level: 'high', path: dir, uid: 0 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'no level "high" in the running policy' } });
    expect(statSync(dir).uid).toBe(UIDS.high);
    expect(refusals().at(-1)).toMatchObject({ op: 'state.chown', reason: 'no level "high" in the running policy' });
    // A policy that does not load is refused; the running one stays.
    writeFileSync(policyFile, 'version: 1\nlevels: nonsense\n');
    manager!.kill('SIGHUP');
    await waitFor(() => stderr.includes('new policy refused'), 'the refusal');
    expect((await ask({ op: 'state.chown', level: 'low', path: join(state, 'cages', 'low', 'sockets'), uid: 0 })).ok).toBe(true);
  }, 30_000);
});
