/**
 * `npm start -- --no-window` brings up the whole stack — split by default (#29): the root cage
 * manager and the supervisor as its unprivileged `cloison` part — and prints the shell's address
 * with its single-use launch secret; Ctrl+C (SIGINT) stops every process it started, cages and the
 * part included, with status 130. The part killed, the manager starts it again and npm start
 * follows it to its new address. With a window, Chromium runs as the invoking user with its
 * sandbox on, and the secret is on no command line; as root with no such user, npm start refuses.
 * `--single` (or CLOISON_SPLIT=0) runs the root supervisor alone, as before the split: a short
 * check of the same start and stop. A bad policy is refused before anything starts, by either.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminCall } from '../supervisor/cli/adminClient';
import { PART_NODE_ENV } from '../supervisor/sandbox/unprivilegedPart';
import { skipWithReason } from '../supervisor/testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';
import { NO_ON_DEVICE_MODEL_CLASS } from './shellChromium.mjs';

/** A small two-level policy (the default reserves 8 GiB homes). */
const SMALL_POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 59871 }), high: bwrapCage({ uid: 59872 }) });

/**
 * The cloison parts of this start's bundle running now (the copy beside its run folder,
 * scripts/partCode.mjs), with their uid: the processes running that bundle whose parent is this
 * start's cage manager. Not every process whose command line names the bundle: a child the part
 * forks shows the part's own command line until it executes its program (Node forks, then
 * executes), which under load was seen for 45 ms (the part's file helpers, its browser part's
 * start) — a second "part" once in a clean-clone run, right after the restart, when the new part
 * starts its own. A second part the manager started would have the manager as parent, and counts.
 */
function cloisonPartPids(root: string): Array<{ pid: number; uid: number }> {
  const bundle = join(root, 'r-code', 'out/supervisor/cloisonPart.js');
  const manager = join(root, 'r-code', 'out/supervisor/cageManager.js');
  const argv = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      if (!argv(p).includes(bundle)) return [];
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
      if (!argv(parent).includes(manager)) return [];
      return [{ pid: Number(p), uid: Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]) }];
    } catch {
      return [];
    }
  });
}

/**
 * The processes descended from `ancestor` (its children, theirs…): this start's own Chromium, not
 * another one a benchmark or a test runs beside it as the same account.
 */
function descendantsOf(ancestor: number): Set<string> {
  const parents = new Map<string, string>();
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parents.set(p, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!);
    } catch {
      // gone
    }
  }
  const found = new Set<string>([String(ancestor)]);
  for (let grown = true; grown; ) {
    grown = false;
    for (const [p, parent] of parents) if (!found.has(p) && found.has(parent)) grown = found.add(p) !== null;
  }
  found.delete(String(ancestor));
  return found;
}

function processesUnder(root: string): string[] {
  const out = spawnSync('ps', ['-eo', 'pid,args', '--no-headers'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.includes(root) && !l.includes('ps -eo'));
}

/** Each start's folders: the default policy reserves its homes whole (8 GiB each), so none is left behind. */
const roots: string[] = [];
function startRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'cloison-start-'));
  roots.push(root);
  chmodSync(root, 0o711); // the part, as cloison, reaches its own folders beside the manager's
  return root;
}

describe('npm start', () => {
  afterEach(() => {
    for (const root of roots.splice(0)) {
      try {
        rmSync(root, { recursive: true, force: true });
      } catch {
        // a folder still mounted after a failed start: the failure itself says why
      }
    }
  });

  it('starts split by default with --no-window: the cage manager as root, the supervisor its cloison part, the address printed with its launch secret; Ctrl+C stops everything (status 130)', async () => {
    const root = startRoot();
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    await waitFor(() => /the shell is at/.test(out) && /cage high:/.test(out), 'the part\'s address and its cages\' statuses', 45_000, 100);
    expect(out).toMatch(/cage low: running/);
    expect(out).toMatch(/cage high: running/);
    expect(out).toMatch(/no window: the shell is at http:\/\/127\.0\.0\.1:\d+\/#launch=[A-Za-z0-9_-]{32}/);
    expect(processesUnder(root).some((l) => l.includes('bwrap'))).toBe(true);
    // The part's, not root's: its process is cloison's, its shell socket in its own run folder.
    const part = cloisonPartPids(root);
    expect(part).toHaveLength(1);
    expect(part[0]!.uid).not.toBe(0);
    expect(statSync(join(root, 'r-broker', 'supervisor.sock')).uid).toBe(part[0]!.uid);
    // Every Node part (the manager, the cloison part, its browser part, the sound part once started)
    // with one malloc arena, as PART_NODE_ENV says (start.mjs sets the manager's, partSpawn.ts the parts').
    const nodeParts = processesUnder(root).map((l) => l.trim().split(/\s+/)).filter((a) => a[1] === process.execPath && a.some((x) => x.includes(join(root, 'r-code', 'out/supervisor/'))));
    expect(nodeParts.length).toBeGreaterThanOrEqual(3);
    for (const [pid, , ...args] of nodeParts) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      for (const [key, value] of Object.entries(PART_NODE_ENV)) expect(environ, args.find((a) => a.endsWith('.js'))).toContain(`${key}=${value}`);
    }
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(130);
    expect(err).not.toMatch(/at .*\.m?js:\d+|Error:/); // no stack trace on the way out
    await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'the manager, its part and the cages gone', 10_000, 100);
    // The copy it ran from is gone with it.
    expect(existsSync(join(root, 'r-code'))).toBe(false);
  }, 90_000);

  it('--single: the root supervisor alone (no cloison part) prints the address; Ctrl+C stops it and its cages (status 130)', async () => {
    const root = startRoot();
    const policy = join(root, 'p.yaml');
    writeFileSync(policy, SMALL_POLICY);
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--single', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    await waitFor(() => /the shell is at/.test(out) && /cage high:/.test(out), 'the supervisor\'s address and its cages\' statuses', 45_000, 100);
    expect(out).toMatch(/no window: the shell is at http:\/\/127\.0\.0\.1:\d+\/#launch=[A-Za-z0-9_-]{32}/);
    expect(out).toMatch(/cage low: running/);
    // The root supervisor's own: no part, its shell socket root's in the run folder named.
    expect(cloisonPartPids(root)).toEqual([]);
    expect(statSync(join(root, 'r', 'supervisor.sock')).uid).toBe(0);
    expect(existsSync(join(root, 'r-broker'))).toBe(false);
    expect(existsSync(join(root, 'r-code'))).toBe(false); // it runs the checkout's own bundle, as root
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(130);
    expect(err).not.toMatch(/at .*\.m?js:\d+|Error:/);
    await waitFor(() => processesUnder(root).length === 0, 'the supervisor and its cages gone', 10_000, 100);
  }, 90_000);

  it('not as root: says the split\'s cage manager needs sudo (or --single), and starts nothing (status 1)', () => {
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', process.execPath, 'scripts/start.mjs', '--no-window'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toContain('npm start starts the cage manager, which runs as root: use sudo npm start');
    expect(r.status).toBe(1);
  });

  it('--single and --split together are refused before anything starts (status 2)', () => {
    const r = spawnSync(process.execPath, ['scripts/start.mjs', '--no-window', '--single', '--split'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toContain('--single and --split: one or the other');
    expect(r.status).toBe(2);
  });

  it('the cloison part killed, the manager starts it again and npm start follows: the new part\'s address printed, its browser host answering there', async () => {
    const root = startRoot();
    const policy = join(root, 'p.yaml');
    writeFileSync(policy, SMALL_POLICY);
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    const addresses = () => [...out.matchAll(/the shell is at (http:\/\/127\.0\.0\.1:\d+\/#launch=[A-Za-z0-9_-]{32})/g)].map((m) => m[1]!);
    try {
      await waitFor(() => addresses().length === 1 && /cage high:/.test(out), 'the first part\'s address', 45_000, 100);
      const [first] = cloisonPartPids(root);
      process.kill(first!.pid, 'SIGKILL');
      await waitFor(() => addresses().length === 2, 'the restarted part\'s address', 60_000, 100);
      expect(out).toContain('the cloison part was started again: the shell reopens at its new address');
      const [, second] = addresses();
      expect(second).not.toBe(addresses()[0]);
      // One part, at once and for the next 2 s while the new one starts its own processes: the
      // manager started it after it reaped the killed one (partProcess.ts), and only once.
      let most = 0;
      for (const until = Date.now() + 2000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) most = Math.max(most, cloisonPartPids(root).length);
      expect(most).toBe(1);
      const now = cloisonPartPids(root);
      expect(now).toHaveLength(1);
      expect(now[0]!.pid).not.toBe(first!.pid);
      expect(now[0]!.uid).toBe(first!.uid);
      // The new address is the new part's: its browser host answers there.
      expect((await fetch(new URL(second!).origin)).status).toBe(200);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'the manager and its part gone', 10_000, 100);
  }, 150_000);

  it('a training scenario the cloison part cannot read: says why the part did not start, stops the manager (status 1)', async () => {
    const root = startRoot();
    const policy = join(root, 'p.yaml');
    // The policy root's alone is no obstacle (the part runs the manager's reading of it); the
    // scenario is read by the part itself.
    writeFileSync(policy, `${SMALL_POLICY}training: allowed\n`, { mode: 0o600 });
    writeFileSync(join(root, 'scenario.yaml'), 'version: 1\ntitle: { fr: Essai, en: Trial }\ndrills: []\n', { mode: 0o600 });
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r'), '--training', join(root, 'scenario.yaml'), '--trainee', 'Alice Martin', '--report-dir', join(root, 'reports')], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(1);
    expect(out).toMatch(/the cloison part did not start: training refused: .*EACCES/);
    await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'the manager and its part gone', 10_000, 100);
  }, 90_000);

  for (const mode of [{ name: 'split', args: [], adminDir: 'r-broker' }, { name: '--single', args: ['--single'], adminDir: 'r' }]) {
    it(`a training session (${mode.name}): run under the trainee's name, ended with Ctrl+C (status 130), nothing left`, async () => {
      const root = startRoot();
      const policy = join(root, 'p.yaml');
      writeFileSync(policy, `${SMALL_POLICY}training: allowed\n`);
      writeFileSync(join(root, 'scenario.yaml'), 'version: 1\ntitle: { fr: Essai, en: Trial }\ndrills:\n  - kind: right-level\n    card: { fr: "Ouvrez le budget DR.", en: "Open the Restricted budget." }\n    document: { name: budget-DR.txt, content: "DIFFUSION RESTREINTE" }\n    expect: high\n');
      const args = ['scripts/start.mjs', '--no-window', ...mode.args, '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r'), '--training', join(root, 'scenario.yaml'), '--trainee', 'Alice Martin', '--report-dir', join(root, 'reports')];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d.toString()));
      try {
        await waitFor(() => /the shell is at/.test(out) && /cage high:/.test(out), 'the address and the cages\' statuses', 45_000, 100);
        const status = await adminCall(join(root, mode.adminDir, 'admin.sock'), 'training.status');
        expect(status).toMatchObject({ ok: true, result: { session: { trainee: 'Alice Martin' } } });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      }
      expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(130);
      await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'everything npm start started gone', 10_000, 100);
    }, 90_000);
  }

  const TEST_USER = 'cloison-shell-test'; // made by scripts/setup.sh
  const testUid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim() || NaN);
  it('runs Chromium as the invoking user with its sandbox on, the launch secret on no command line', async (ctx) => {
    if (!process.env.DISPLAY) skipWithReason(ctx, 'no display to open Chromium on (npm test runs under xvfb-run in CI)');
    if (Number.isNaN(testUid)) skipWithReason(ctx, `no ${TEST_USER} account (scripts/setup.sh makes it)`);
    const root = startRoot();
    const child = spawn(process.execPath, ['scripts/start.mjs', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SUDO_USER: TEST_USER } });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    // The part's journal, in its own state folder beside the manager's.
    const journal = join(root, 's-broker', 'audit.jsonl');
    const connected = () => existsSync(journal) && (readFileSync(journal, 'utf8').match(/"kind":"vnc\.connect"/g) ?? []).length >= 2;
    // Generous: a Chromium start and a split start beside vitest's other workers on two cores (seen over 45 s in CI).
    const deadline = Date.now() + 75_000;
    while (!connected() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(out).toContain(`shell: Chromium as ${TEST_USER}, sandboxed`);
    expect(connected()).toBe(true); // the shell opened both cages' displays
    const chromium = [...descendantsOf(child.pid!)].flatMap((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (!argv.includes('cloison-shell-') || !/chrom/.test(argv)) return [];
        const status = readFileSync(`/proc/${p}/status`, 'utf8');
        const seccomp = Number(/^Seccomp:\s+(\d+)/m.exec(status)![1]);
        return [{ argv, uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), seccomp, userNs: readlinkSync(`/proc/${p}/ns/user`), pidNs: readlinkSync(`/proc/${p}/ns/pid`) }];
      } catch {
        return [];
      }
    });
    expect(chromium.length).toBeGreaterThan(0);
    for (const p of chromium) {
      expect(p.uid).toBe(testUid);
      expect(p.argv).not.toContain('--no-sandbox');
      expect(p.argv).not.toMatch(/launch=/);
    }
    // The sandbox as a page taken over would meet it, not only the absence of --no-sandbox: every
    // renderer (the shell's page, each viewer) under a seccomp filter, in a user and pid namespace
    // other than the browser process's; the GPU process, which runs every renderer's drawing
    // commands, under its own filter (without a GPU it had none before --disable-gpu). A memory
    // flag that drops a layer fails here. The network service runs inside the browser process
    // (shellChromium.mjs: it had no sandbox of its own as a utility process): no process of its own.
    const browserProcess = chromium.find((p) => p.argv.includes('--app=file://'))!;
    const renderers = chromium.filter((p) => p.argv.includes('--type=renderer'));
    expect(renderers.length).toBeGreaterThanOrEqual(3);
    for (const r of renderers) {
      expect(r.seccomp).toBe(2);
      expect(r.userNs).not.toBe(browserProcess.userNs);
      expect(r.pidNs).not.toBe(browserProcess.pidNs);
    }
    const gpu = chromium.filter((p) => p.argv.includes('--type=gpu-process'));
    expect(gpu.map((p) => p.seccomp)).toEqual([2]);
    expect(chromium.filter((p) => p.argv.includes('network.mojom.NetworkService'))).toEqual([]);
    // Chromium's child processes rewrite their command line with spaces for NULs; the profile folder is a
    // mkdtemp name, with no space in it.
    const profile = /--user-data-dir=([^\0 ]+)/.exec(chromium[0]!.argv)![1]!;
    const launchFile = statSync(join(profile, 'launch.html'));
    expect([launchFile.uid, launchFile.mode & 0o777]).toEqual([testUid, 0o600]);
    // The window first: Chromium started before the cage manager (so before the part code's copy,
    // which the manager runs from), its own start beside theirs, not after (bench/RESULTS.md).
    // The earliest start (clock ticks since boot) of the processes whose command line has `marker`.
    const startedAt = (marker: string) =>
      Math.min(...[...descendantsOf(child.pid!)].flatMap((p) => {
        try {
          if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) return [];
          const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
          return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])];
        } catch {
          return [];
        }
      }));
    expect(startedAt(`--user-data-dir=${profile}`)).toBeLessThanOrEqual(startedAt(join(root, 'r-code', 'out/supervisor/cageManager.js')));
    // Chromium took the shell's on-device model performance class (shellChromium.mjs): the class is
    // in Local State from the start (its first write, ~10 s in), so the benchmark that starts the
    // on-device model service 3 minutes in never runs. Without the flag the class is absent until then.
    const performanceClass = () => {
      try {
        return JSON.parse(readFileSync(join(profile, 'Local State'), 'utf8')).optimization_guide?.on_device?.performance_class;
      } catch {
        return undefined; // not written yet
      }
    };
    await waitFor(() => performanceClass() !== undefined, "Chromium's Local State with an on-device performance class", 30_000, 200).catch(() => {});
    expect(performanceClass()).toBe(NO_ON_DEVICE_MODEL_CLASS);
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', (code) => r(code)))).toBe(130);
    // Chromium's last children may outlive npm start's exit by a moment on a loaded machine: waited for, not slept.
    await waitFor(() => processesUnder(root).length === 0, 'every process npm start started gone', 10_000, 100);
    // Removed as the user once Chromium's last child is gone, which a loaded machine may take a while to see.
    await waitFor(() => !existsSync(profile), "the shell user's Chromium profile removed");
  }, 150_000);

  it('with a window: the cloison part killed, the shell\'s Chromium is replaced by one sent to the new part\'s address; npm start goes on', async (ctx) => {
    if (!process.env.DISPLAY) skipWithReason(ctx, 'no display to open Chromium on (npm test runs under xvfb-run in CI)');
    if (Number.isNaN(testUid)) skipWithReason(ctx, `no ${TEST_USER} account (scripts/setup.sh makes it)`);
    const root = startRoot();
    const policy = join(root, 'p.yaml');
    writeFileSync(policy, SMALL_POLICY);
    const child = spawn(process.execPath, ['scripts/start.mjs', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, SUDO_USER: TEST_USER } });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    // The profiles of the shell's Chromium main processes running now (the one with --app=).
    // This start's own (another start's Chromium may run beside it as the same account).
    const shellProfiles = () => [...new Set([...descendantsOf(child.pid!)].flatMap((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return argv.includes('--app=file://') && argv.includes('cloison-shell-') ? [/--user-data-dir=([^\0 ]+)/.exec(argv)![1]!] : [];
      } catch {
        return [];
      }
    }))];
    const sentTo = (profile: string) => /url=(http:\/\/127\.0\.0\.1:\d+\/#launch=[A-Za-z0-9_-]{32})/.exec(readFileSync(join(profile, 'launch.html'), 'utf8'))?.[1];
    try {
      await waitFor(() => shellProfiles().length === 1 && !!sentTo(shellProfiles()[0]!), 'the shell\'s Chromium sent to the first part\'s address', 45_000, 100);
      const [firstProfile] = shellProfiles();
      const firstAddress = sentTo(firstProfile!);
      process.kill(cloisonPartPids(root)[0]!.pid, 'SIGKILL');
      await waitFor(() => shellProfiles().some((p) => p !== firstProfile && !!sentTo(p)), 'a new Chromium sent to the restarted part\'s address', 60_000, 100);
      await waitFor(() => !shellProfiles().includes(firstProfile!), 'the old Chromium closed', 45_000, 100);
      const [secondProfile] = shellProfiles();
      expect(sentTo(secondProfile!)).not.toBe(firstAddress);
      expect(statSync(join(secondProfile!, 'launch.html')).uid).toBe(testUid);
      expect(out).toContain('the cloison part was started again: the shell reopens at its new address');
      expect(child.exitCode).toBeNull();
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
    }
    await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'the manager and its part gone', 10_000, 100);
  }, 150_000);

  it('the shell\'s Chromium killed at its start (a real one, by signal): npm start says so on its stderr in the host\'s language, with the signal and Chromium\'s last lines, and stops everything (status 1)', async (ctx) => {
    if (!process.env.DISPLAY) skipWithReason(ctx, 'no display to open Chromium on (npm test runs under xvfb-run in CI)');
    if (Number.isNaN(testUid)) skipWithReason(ctx, `no ${TEST_USER} account (scripts/setup.sh makes it)`);
    const root = startRoot();
    const policy = join(root, 'p.yaml');
    writeFileSync(policy, SMALL_POLICY);
    const env: NodeJS.ProcessEnv = { ...process.env, SUDO_USER: TEST_USER, LANG: 'fr_FR.UTF-8' };
    delete env.LC_ALL;
    delete env.LC_MESSAGES;
    const child = spawn(process.execPath, ['scripts/start.mjs', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    const status = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Its browser process, as soon as it runs Chromium (not the /usr/bin/chromium wrapper it starts as).
      let browser = 0;
      await waitFor(() => {
        browser = [...descendantsOf(child.pid!)].map(Number).find((p) => {
          try {
            return readlinkSync(`/proc/${p}/exe`).startsWith('/usr/lib/chromium') && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--app=file://');
          } catch {
            return false;
          }
        }) ?? 0;
        return browser > 0;
      }, "the shell's Chromium browser process", 30_000, 20);
      // What it prints at its start (no system bus here, a sandbox note…) given a moment to be written.
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(browser, 'SIGKILL');
      expect(await status).toBe(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await status;
      }
    }
    expect(err).toContain('cloison: la fenêtre de Cloison (Chromium) s’est arrêtée d’elle-même');
    expect(err).toContain('(tué par le signal SIGKILL)');
    // Its last lines (Chromium prints at every start, at least the system bus it cannot reach here).
    expect(err).toMatch(/Les dernières lignes écrites par Chromium \(\d+\) :\ncloison:   \| \S/);
    expect(out).not.toContain('the shell is at');
    await waitFor(() => processesUnder(root).length === 0 && cloisonPartPids(root).length === 0, 'every process npm start started gone', 15_000, 100);
  }, 120_000);

  it('as root with no invoking user, refuses to run Chromium and stops what it started', async () => {
    const root = startRoot();
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: process.env.DISPLAY ?? ':99' };
    delete env.SUDO_USER;
    const r = spawnSync(process.execPath, ['scripts/start.mjs', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { encoding: 'utf8', env, timeout: 60_000 });
    expect(r.stdout).toContain('does not run Chromium as root');
    expect(r.status).toBe(1);
    expect(processesUnder(root)).toEqual([]);
  });

  for (const program of ['out/supervisor/cageManager.js', 'out/supervisor/main.js']) {
    it(`${program} refuses a bad policy with file and line, and starts nothing`, () => {
      const root = startRoot();
      const policy = join(root, 'bad.yaml');
      writeFileSync(policy, 'version: 1\nlevels:\n  - id: low\n    rank: zero\n');
      const r = spawnSync(process.execPath, [program, '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('policy refused, nothing started');
      expect(r.stderr).toContain(`${policy}:4:11: levels[0].rank: expected number`);
      expect(processesUnder(root)).toEqual([]);
    });
  }
});
