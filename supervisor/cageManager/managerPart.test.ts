/**
 * The cage manager with its `cloison` part, as real processes: the manager (root, restricted as
 * the root part) starts the part it is given (`--part`, here a test script as the part: its own
 * control group, the `cloison` account, its stderr marked). The part, compromised first, asks what
 * the policy does not imply — a cage as uid 0 or with the other level's uid, a level the policy
 * does not name, a bwrap argument as a level id, the other level's image as its home, an argv or
 * another level's app through `app.launch` — each refused and journaled by the manager; then it
 * starts the low cage, takes its VNC connection through `cage.vncSocket` on its channel and hears
 * the RFB greeting, launches the policy's app and finds it running in the cage (the cage's uid,
 * Seccomp 2), stops the cage, starts it again. SIGTERM to the manager: the part and the cage end,
 * nothing mounted, no process of the level's uid, the part's control group removed. Seen with a
 * manager that stopped no cage on SIGTERM (its former stop: executors and socket only): the cage's
 * bwrap, reparented to init, and its Xvnc, session and launcher ran on as the level's uid after the
 * manager had exited, with no one holding its launcher channel or able to stop it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint, unmountCageFilesystems } from '../cages/cageMounts';
import { MANAGER_PART_PLAN, PART_REPORT_MARK } from '../testing/managerPartPlan';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { REFUSED_KIND } from './cageManagerServer';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

const REPO = resolve(__dirname, '..', '..');
const { low, high } = MANAGER_PART_PLAN;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const appsOf = (app: { id: string; exec: readonly string[] }) => `[{ id: ${app.id}, exec: [${app.exec.map((a) => JSON.stringify(a)).join(', ')}] }]`;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: low.uid, limits: SMALL, apps: appsOf(low.app) }), high: bwrapCage({ uid: high.uid, limits: SMALL, apps: appsOf(high.app) }) });

let root: string;
let state: string;
let run: string;
let cloison: PamTestUser;
let manager: ChildProcess | null = null;
let stderr = '';
const reports: Array<{ step: string } & Record<string, unknown>> = [];

const refusals = () =>
  readFileSync(join(state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);
const step = (name: string) => reports.find((r) => r.step === name);
const processesOf = (uid: number) => spawnSync('pgrep', ['-u', String(uid), '-l'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** The folders of the control groups of its own a process is in (the part's name in their path). */
function groupFoldersOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .map((line) => /^\d+:([^:]*):(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => !!m && /cloison.part/.test(m[2]!))
    .map((m) => join('/sys/fs/cgroup', m[1]!.replace(/^name=/, ''), m[2]!));
}

async function stopManager(): Promise<number | null> {
  if (!manager || manager.exitCode !== null) return manager?.exitCode ?? null;
  const gone = new Promise<number | null>((r) => manager!.once('exit', (code) => r(code)));
  manager.kill('SIGTERM');
  const timer = setTimeout(() => manager?.kill('SIGKILL'), 60_000);
  const code = await gone;
  clearTimeout(timer);
  return code;
}

beforeAll(async () => {
  root = testRoot('cloison-mp-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  run = join(root, 'run');
  cloison = createPamTestUser();
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const argv = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', run, '--peer-user', cloison.user, '--part', join(REPO, 'supervisor/testing/managerPartRequester.ts')];
  manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: manager.stderr! }).on('line', (line) => {
    stderr += `${line}\n`;
    const mark = `cloison part: ${PART_REPORT_MARK}`;
    if (line.startsWith(mark)) reports.push(JSON.parse(line.slice(mark.length)));
  });
  await new Promise<void>((resolve, reject) => {
    manager!.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
    createInterface({ input: manager!.stdout! }).once('line', () => resolve());
  });
}, 60_000);

afterAll(async () => {
  await stopManager();
  // Whatever a failed run left: the manager's stop is what is tested, this is only the cleanup.
  for (const level of ['low', 'high']) await unmountCageFilesystems(bwrapCagePaths(state, run, level)).catch(() => undefined);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 90_000);

describe('the cage manager and its cloison part', () => {
  it('the part, as cloison, starts a cage, hears its VNC greeting, launches the policy\'s app in it; what the policy does not imply is refused and journaled', async () => {
    await waitFor(() => !!step('seen') || manager!.exitCode !== null, 'the part\'s launch', 60_000);
    const partPid = Number(/"msg":"cloison part started","pid":(\d+)/.exec(stderr)?.[1]);
    console.log(JSON.stringify(reports));
    expect(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${partPid}/status`, 'utf8'))![1])).toBe(cloison.uid);

    // The compromised part's requests: refused, each journaled with its op, nothing started.
    const attacks: Array<[string, string, RegExp]> = [
      ['start as root', 'cage.start', /uid|level/],
      ["start with high's uid", 'cage.start', /uid/],
      ['start a level not named', 'cage.start', /top/],
      ['start a bwrap argument', 'cage.start', /./],
      ["mount high's image as low's home", 'home.mount', /image|home/],
      ['second start', 'cage.start', /running already/],
      ['launch another argv', 'app.launch', /./],
      ['launch an extra argument', 'app.launch', /./],
      ["launch high's app in low", 'app.launch', /./],
    ];
    const journaled = refusals();
    for (const [name, op, reason] of attacks) {
      expect(step(name), name).toMatchObject({ code: expect.stringMatching(/POLICY_DENIED|BAD_REQUEST|INVALID/), error: expect.stringMatching(reason) });
      expect(journaled.some((r) => r.op === op && r.actor === 'cloison' && r.peerUid === cloison.uid && (r.reason as string) === (step(name)!.error as string).slice(0, 300)), `${name} journaled`).toBe(true);
    }
    expect(journaled.filter((r) => r.op === 'cage.start' || r.op === 'app.launch' || r.op === 'home.mount')).toHaveLength(attacks.length);
    expect(isMountPoint(bwrapCagePaths(state, run, 'high').home)).toBe(false);
    expect(processesOf(high.uid)).toEqual([]);

    // The part's own work: the cage, its greeting on the handed socket, the app.
    expect(step('start')).toMatchObject({ result: { innerPid: expect.any(Number) } });
    expect(step('greeting')).toMatchObject({ banner: 'RFB 003.008\n', uid: cloison.uid });
    expect(step('launch')).toMatchObject({ result: { pid: expect.any(Number) } });
    const seen = (step('seen')!.processes as Array<{ pid: number; uid: number; seccomp: number }>);
    expect(seen).toEqual([{ pid: expect.any(Number), uid: low.uid, seccomp: 2 }]);
    // From root's side too: the app runs as the low cage's uid, filtered, in the cage's pid namespace.
    const status = readFileSync(`/proc/${seen[0]!.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${low.uid}\\s+${low.uid}\\s+${low.uid}\\s+${low.uid}$`, 'm'));
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(readFileSync(`/proc/${seen[0]!.pid}/cmdline`, 'latin1')).toBe(`${low.app.exec.join('\0')}\0`);
    expect(status).toMatch(new RegExp(`^NSpid:\\s+${seen[0]!.pid}\\s+${(step('launch')!.result as { pid: number }).pid}$`, 'm'));

    process.kill(partPid, 'SIGUSR1');
    await waitFor(() => !!step('start again') || manager!.exitCode !== null, 'the stop and the new start', 60_000);
    expect(step('stop')).toMatchObject({ result: { stopped: true } });
    expect(step('after the stop')).toEqual({ step: 'after the stop', processes: [] });
    expect(step('start again')).toMatchObject({ result: { innerPid: expect.any(Number) } });
  }, 150_000);

  it('SIGTERM: the manager stops its part and the cage the part started; nothing of the level stays', async () => {
    const partPid = Number(/"msg":"cloison part started","pid":(\d+)/.exec(stderr)?.[1]);
    expect(alive(partPid)).toBe(true);
    expect(processesOf(low.uid).length).toBeGreaterThan(0);
    expect(isMountPoint(bwrapCagePaths(state, run, 'low').home)).toBe(true);
    const partGroups = groupFoldersOf(partPid);
    console.log(`the part's control groups: ${JSON.stringify(partGroups)}`);
    expect(partGroups.length).toBeGreaterThan(0);
    expect(partGroups.every((dir) => existsSync(dir))).toBe(true);
    expect(await stopManager()).toBe(0);
    console.log(stderr.split('\n').filter((l) => /stopping|cage stop/.test(l)).join('\n'));
    expect(stderr).toMatch(/"msg":"cage stopped","level":"low"/);
    expect(alive(partPid)).toBe(false);
    expect(processesOf(low.uid)).toEqual([]);
    expect(isMountPoint(bwrapCagePaths(state, run, 'low').home)).toBe(false);
    expect(isMountPoint(bwrapCagePaths(state, run, 'low').scratch)).toBe(false);
    // The part's own control group is removed with it.
    expect(partGroups.filter((dir) => existsSync(dir))).toEqual([]);
  }, 90_000);
});
