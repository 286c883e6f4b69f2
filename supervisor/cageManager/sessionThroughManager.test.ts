/**
 * The lock, the lock before sleep, the training drills and the app launcher of the unprivileged
 * `cloison` part, each through the root cage manager: a real manager server with the real executor
 * table (managerExecutors.ts), the machine's real PAM (the workstation's test user and its service),
 * a real bwrap cage, the machine's systemd-logind on a bus of the test's own, and the part's side in
 * a process of the `cloison` account (testing/sessionPartRequester.ts) wired as the part wires it.
 * What the user would see:
 *   - a wrong password refused and counted by the manager; the right one, typed in a part restarted
 *     with its state folder emptied, refused with "wait N s" while the manager's wait holds — the
 *     lock screen shows the manager's count, not none — and unlocking after it;
 *   - the spoof drill's look-alike up in the cage (the cage's uid, the other level's band), gone at
 *     the drill's end; the right-level drill's document in the cage's ~/Formation;
 *   - the policy's app running in the cage, started from the app launcher, counted by it through
 *     `app.running` and no more once ended; an app whose .desktop file names its windows' class
 *     counted by its windows through `app.windows` (a second window of its class, opened by another
 *     program as Firefox hands one over, counted too), and no more once they are closed; `app.running` lists the policy's apps only (asked as a
 *     compromised part would while a look-alike is up: seen with the launcher's list given whole,
 *     the look-alike's command line, its band text included);
 *   - the machine about to sleep: the part's lock locks (cause suspend), told by the manager.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { unmountCageFilesystems } from '../cages/cageMounts';
import { SPOOF_MARK } from '../cages/trainingPrograms';
import { parsePolicy } from '../policy/policyLoader';
import { processNamesOf } from '../testing/cageProcesses';
import { sendFramesAs } from '../testing/rawFramesAs';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { busctl, privateLogindUnavailable, startPrivateLogind, type PrivateLogind } from '../testing/privateLogind';
import { launcherShell, testRoot } from '../testing/realCage';
import { skipWithReason } from '../testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { cloisonPart, type CloisonPartMessage } from './cloisonPart';
import { ManagedCages } from './managedCages';
import { managerExecutors } from './managerExecutors';

const LOW_UID = 58588;
const HIGH_UID = 58589;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const APPS = '[{ id: sleeper, exec: [sleep, "611"], autostart: false }, { id: terminal, exec: [xterm], desktop: debian-xterm }]';
const noLogind = privateLogindUnavailable();

let root: string;
let folders: { stateDir: string; runDir: string };
let cloison: PamTestUser;
let workstation: PamTestUser;
let logind: PrivateLogind | null = null;
let journal: FileAuditJournal;
let server: CageManagerServer;
let table: ReturnType<typeof managerExecutors>;
const cages = new ManagedCages();
let part: ReturnType<typeof cloisonPart> | null = null;
const reports: Array<{ step: string } & Record<string, unknown>> = [];
const seen = { secondWindow: '', terminalRunning: [] as string[], lookAlikes: [] as string[], document: '', appRunning: [] as string[], lookAlikesAfter: -1, running: [] as unknown[], inhibitorsAtSleep: -1, inhibitorsAfterUnlock: -1 };
const announced: string[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the part's reports, read field by field
const step = (name: string) => reports.find((r) => r.step === name) as Record<string, any> | undefined;
const lookAlikes = () => spawnSync('pgrep', ['-u', String(LOW_UID), '-f', '--', `-title ${SPOOF_MARK}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
/** Cloison's inhibitors logind holds. */
const inhibitors = async () => ((await busctl(logind!.address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'ListInhibitors'])).stdout.match(/"Cloison"/g) ?? []).length;
const documentInHome = () => spawnSync('find', [bwrapCagePaths(folders.stateDir, folders.runDir, 'low').home, '-name', 'note-formation.txt', '-path', '*Formation*'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

beforeAll(async () => {
  root = testRoot('cloison-sm-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  workstation = createPamTestUser();
  if (!noLogind) logind = await startPrivateLogind();
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  mkdirSync(folders.stateDir, { recursive: true, mode: 0o700 });
  // The part's own folder (its lock's marker and count) and where the test says "go on".
  const partDir = join(root, 'part');
  const goDir = join(root, 'go');
  for (const dir of [partDir, goDir]) mkdirSync(dir, { mode: 0o755 });
  chownSync(partDir, cloison.uid, cloison.gid);
  chmodSync(partDir, 0o700);
  const policyText = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL, apps: APPS }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) }, `training: allowed\nsession: { pamService: ${workstation.service} }\n`);
  const policy = parsePolicy(policyText, 'p.yaml');
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  const socketPath = join(root, 'manager.sock');
  table = managerExecutors({
    policy: () => policy,
    ...folders,
    trainingKeysDir: join(root, 'training'),
    workstationUser: { name: workstation.user, uid: workstation.uid, gid: workstation.gid, source: 'shell-user' },
    hostSound: () => null,
    cages,
    part: () => part,
    onSleep: () => announced.push('sleep'),
    ...(logind ? { busEnv: { DBUS_SYSTEM_BUS_ADDRESS: logind.address } } : {}),
  });
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: workstation.user, holdsCage: (level) => cages.holds(level) },
    executors: table.executors,
  });
  await server.listen();

  const go = (name: string) => writeFileSync(join(goDir, name), '');
  let announcing = false;
  await new Promise<void>((resolve, reject) => {
    const message = (m: CloisonPartMessage) => {
      if (m.type === 'done') return resolve();
      reports.push(m as never);
      if (m.step === 'spoof started') {
        void waitFor(() => lookAlikes().length > 0, 'the look-alike in the cage', 30_000)
          .catch(() => undefined)
          .then(async () => {
            seen.lookAlikes = lookAlikes();
            // As a compromised part would ask, while the look-alike is up: the policy's apps only.
            seen.running = (await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request: { op: 'app.running', level: 'low' } } }, { json: { id: 2, request: { op: 'app.running', level: 'top' } } }])).replies;
            go('hide');
          });
      }
      if (m.step === 'spoof concluded') seen.lookAlikesAfter = lookAlikes().length;
      if (m.step === 'app') {
        seen.appRunning = processNamesOf(LOW_UID);
        // The app ends (its pid in the cage's namespace is not ours: found by its command line).
        for (const pid of spawnSync('pgrep', ['-u', String(LOW_UID), '-x', '-f', 'sleep 611'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
        go('app ended');
      }
      if (m.step === 'terminal') {
        // Another xterm window in the cage, not launched by the launcher: counted by its class only.
        void launcherShell(cages.cage('low')!)('setsid xterm </dev/null >/dev/null 2>&1 & echo opened')
          .then((r) => (seen.secondWindow = r.stdout))
          .finally(() => go('second window'));
      }
      if (m.step === 'second window') {
        seen.terminalRunning = processNamesOf(LOW_UID);
        for (const pid of spawnSync('pgrep', ['-u', String(LOW_UID), '-x', 'xterm'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
        go('terminal closed');
      }
      if (m.step === 'document asked') {
        void waitFor(() => documentInHome().length > 0, 'the document in the home', 30_000)
          .catch(() => undefined)
          .then(() => {
            const found = documentInHome()[0];
            seen.document = found ? readFileSync(found, 'utf8') : '';
            go('stop cage');
          });
      }
      // Announced again until the part has locked: the first may come before logind's watch listens.
      if (m.step === 'sleep ready' && m.state === 'logind' && logind && !announcing) {
        announcing = true;
        void (async () => {
          while (!step('slept')) {
            // logind refuses a sleep while one it announced is under way: that one is ended (resumed) first.
            await logind!.announce(true).catch(() => logind!.announce(false));
            await new Promise((r) => setTimeout(r, 300));
          }
          await waitFor(async () => (await inhibitors()) === 0, 'the inhibitor let go for the sleep', 10_000).catch(() => undefined);
          seen.inhibitorsAtSleep = await inhibitors();
          // The machine wakes (logind refuses an inhibitor until its sleep has ended), then the user unlocks.
          await logind!.announce(false);
          go('unlock');
          await waitFor(() => !!step('unlocked after the sleep'), 'the unlock', 30_000).catch(() => undefined);
          await waitFor(async () => (await inhibitors()) === 1, 'the inhibitor again', 10_000).catch(() => undefined);
          seen.inhibitorsAfterUnlock = await inhibitors();
          go('inhibitor seen');
        })();
      }
    };
    part = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '../testing/sessionPartRequester.ts') },
      account: () => cloison,
      start: { managerSocket: socketPath, policy: policyText, ...folders, partDir, goDir, workstation: workstation.user, password: workstation.password, uid: LOW_UID },
      message,
      restarting: (reason) => reject(new Error(`the part ended (${reason}) after ${JSON.stringify(reports)}`)),
    });
    part.start().catch(reject);
  });
  console.log(JSON.stringify(reports));
}, 240_000);

afterAll(async () => {
  await part?.stop();
  for (const level of cages.levels()) await cages.cage(level)?.stop();
  await unmountCageFilesystems(bwrapCagePaths(folders.stateDir, folders.runDir, 'low')).catch(() => undefined);
  await table?.stop();
  await server?.close();
  journal?.close();
  logind?.stop();
  for (const user of [cloison, workstation]) user?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the lock, sleep, training and apps of the cloison part, through the cage manager', () => {
  it('a wrong password is refused and counted by the manager; while its wait holds the lock says so, with its count; the right one unlocks after it', () => {
    expect(step('wrong password')).toMatchObject({ view: { locked: true, failures: 1, retryInMs: expect.any(Number) }, failed: [expect.objectContaining({ user: workstation.user, failures: 1 })] });
    expect(step('wrong password')!.view.retryInMs).toBeGreaterThan(0);
    // A part whose own count is gone: the manager's refuses, and the lock screen says how long.
    expect(step('right password while the manager waits')).toMatchObject({ code: 'LIMIT_EXCEEDED', text: { fr: expect.stringMatching(/^attendez \d+ s avant le prochain essai$/), en: expect.stringMatching(/^wait \d+ s before the next attempt$/) } });
    expect(step('view after the refusal')).toMatchObject({ view: { locked: true, failures: 1 } });
    expect(step('view after the refusal')!.view.retryInMs).toBeGreaterThan(0);
    expect(step('right password after the wait')).toMatchObject({ view: { locked: false, failures: 0 }, unlocked: [expect.objectContaining({ user: workstation.user, failuresBefore: 1 })] });
    // The password never reaches the manager's journal.
    expect(readFileSync(journal.path, 'utf8')).not.toContain(workstation.password);
  });

  it('the policy\'s app, started from the app launcher, runs in the cage as its uid; the launcher counts it, and no more once it has ended', () => {
    expect(step('cage')).toMatchObject({ status: 'running' });
    expect(step('app')).toMatchObject({ pid: expect.any(Number), running: 1 });
    expect(seen.appRunning).toContain('sleep');
    expect(step('app ended')).toMatchObject({ running: 0 });
    // An app counted by its windows (app.windows), then no more once they are closed.
    expect(step('terminal')).toMatchObject({ running: 1 });
    expect(seen.secondWindow).toBe('opened\n');
    expect(seen.terminalRunning.filter((p) => p === 'xterm')).toHaveLength(2);
    // Two windows counted while the launcher started one: the count is the windows', by app.windows.
    expect(step('second window')).toMatchObject({ running: 2, launched: 1 });
    expect(step('terminal closed')).toMatchObject({ running: 0 });
  });

  it('app.running answers the policy\'s apps only: not the look-alike the manager started in the same cage; a level the policy does not name is refused and journaled', () => {
    const replies = seen.running as Array<{ id: number; ok: boolean; result?: { programs: unknown[] }; error?: { code: string } }>;
    // Answered in any order: by id.
    const low = replies.find((r) => r.id === 1);
    const top = replies.find((r) => r.id === 2);
    expect(low).toMatchObject({ ok: true, result: { programs: [] } });
    expect(JSON.stringify(low)).not.toContain(SPOOF_MARK);
    expect(top).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    const refused = readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);
    expect(refused).toContainEqual(expect.objectContaining({ op: 'app.running', peerUid: cloison.uid }));
  });

  it('the spoof drill\'s look-alike appears in the cage and is gone at the drill\'s end; the right-level drill\'s document lands in ~/Formation', () => {
    expect(seen.lookAlikes).toHaveLength(1);
    expect(step('spoof concluded')).toMatchObject({ passed: false, typedIntoFake: 0 });
    expect(seen.lookAlikesAfter).toBe(0);
    expect(seen.document).toBe('Texte de la formation\n');
  });

  it('the machine about to sleep: the manager tells the part, whose lock locks before the sleep; the unlock takes the manager\'s inhibitor again', (ctx) => {
    if (noLogind) skipWithReason(ctx, noLogind);
    expect(step('sleep ready')).toMatchObject({ state: 'logind', locked: false });
    expect(step('slept')).toMatchObject({ locked: true, lock: { kind: 'session.lock', cause: 'suspend' } });
    expect(announced.length).toBeGreaterThan(0);
    // The manager let go of the inhibitor for the sleep; after the resume and the unlock it holds one again, never two.
    expect(seen.inhibitorsAtSleep).toBe(0);
    expect(step('unlocked after the sleep')).toMatchObject({ view: { locked: false, beforeSleep: 'logind' } });
    expect(seen.inhibitorsAfterUnlock).toBe(1);
  });
});
