/**
 * Policy reload and the admin socket, on the built supervisor started with the deployed layout
 * (policy file, state and run directories; paths overridden for the test): SIGHUP or `cloison
 * policy reload` applies a valid change at once, restarting only the cages whose definition
 * changed; a broken policy is refused and the running one stays. The admin socket answers
 * status and refuses anything that could carry content. What a reload changes reaches every
 * broker at once (loop devices, the microphone list), and the file goes through the loader's limits.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from './cli/adminClient';
import { rpcClient } from './testing/rpcClient';
import { testRoot } from './testing/realCage';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';
import { supervisorReady, waitFor } from './testing/waitFor';
import { kernelHasFilesystem, LoopKeys } from './testing/loopKeys';
import { skipWithReason } from './testing/skipWithReason';

const run = promisify(execFile);
const LOW_UID = 58630;
const HIGH_UID = 58631;

/** The pid of the Xvnc running as a cage's uid (a restarted cage has a new one). */
function xvncPidOf(uid: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'Xvnc' && new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8'))) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return null;
}

async function until<T>(probe: () => T | null | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('policy reload and the admin socket (deployed layout)', () => {
  const root = testRoot();
  const policyFile = join(root, 'policy.yaml');
  const runDir = join(root, 'r');
  const adminSocket = join(runDir, 'admin.sock');
  const good = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) });
  let sup: ChildProcess;
  const reloads = () =>
    readFileSync(join(root, 's', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.kind === 'policy.reload');
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['out/cli/cloison.js', ...args, '--socket', adminSocket]);
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    writeFileSync(policyFile, good);
    sup = spawn(process.execPath, ['out/supervisor/main.js', '--policy', policyFile, '--state-dir', join(root, 's'), '--run-dir', runDir, '--admin-group', 'adm', '--shell-group', 'staff'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await supervisorReady(sup.stdout!);
  }, 60_000);
  afterAll(async () => {
    sup.kill('SIGTERM');
    await new Promise((r) => sup.once('exit', r));
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a broken policy on SIGHUP with file, line and reason; nothing restarts', async () => {
    const [low, high] = [xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)];
    expect(low).not.toBeNull();
    writeFileSync(policyFile, good.replace('colour: "#1b7f3b"', 'colour: green'));
    sup.kill('SIGHUP');
    const [refused] = await until(() => (reloads().length >= 1 ? reloads() : null), 'the refusal');
    expect(refused).toMatchObject({ actor: 'admin', decision: 'refused', reason: expect.stringContaining(`${policyFile}:6:13: levels[0].colour: colour is #RRGGBB`) });
    expect(sup.exitCode).toBeNull();
    expect([xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)]).toEqual([low, high]);
  });

  it('cloison policy check shows the difference from the running policy', async () => {
    const changed = join(root, 'changed.yaml');
    writeFileSync(changed, good.replace('geometry: 640x480', 'geometry: 800x600')); // the first cage, low, only
    const r = await cli('policy', 'check', changed);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('policy is valid (2 levels)');
    expect(r.stdout).toContain('levels.low.cage changed: that cage restarts');
    expect(r.stdout).not.toContain('levels.high');
  });

  it('applies a change to one cage live: only that cage restarts, the other keeps its processes', async () => {
    const [low, high] = [xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)];
    // Only high's cage changes (its geometry); the low cage's definition stays the same.
    const next = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID, geometry: '800x600' }) });
    writeFileSync(policyFile, next);
    const r = await cli('policy', 'reload');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/decision: applied/);
    expect(r.stdout).toContain('levels.high.cage changed');
    const newHigh = await until(() => {
      const pid = xvncPidOf(HIGH_UID);
      return pid !== null && pid !== high ? pid : null;
    }, 'the high cage to restart', 40_000);
    expect(newHigh).not.toBe(high);
    expect(xvncPidOf(LOW_UID)).toBe(low);
    expect(reloads().at(-1)).toMatchObject({ decision: 'applied', restarted: 'high' });
    // Its new Xvnc runs before the cage counts as running (its socket answering): later on a loaded machine.
    const statuses = async () => ((await adminCall(adminSocket, 'status')) as { result?: { cages?: Array<{ level: string; status: string }> } }).result?.cages?.map((c) => `${c.level} ${c.status}`).join(', ');
    await waitFor(async () => (await statuses()) === 'low running, high running', 'both cages running after the reload', 40_000, 250).catch(() => undefined);
    const status = await adminCall(adminSocket, 'status');
    expect(status).toMatchObject({ ok: true, result: { cages: [{ level: 'low', status: 'running' }, { level: 'high', status: 'running' }] } });
  }, 90_000);

  it('a new level colour reaches connected shells at once, restarting nothing', async () => {
    const [low, high] = [xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)];
    const shell = await rpcClient(join(runDir, 'supervisor.sock'));
    const levels = shell.next('onLevels');
    writeFileSync(policyFile, readFileSync(policyFile, 'utf8').replace('colour: "#b3261e"', 'colour: "#8e24aa"'));
    sup.kill('SIGHUP');
    expect((await levels).levels).toContainEqual(expect.objectContaining({ id: 'high', colour: '#8e24aa' }));
    shell.close();
    expect([xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)]).toEqual([low, high]);
  });

  it('a change of flows only restarts nothing', async () => {
    const [low, high] = [xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)];
    const current = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, `${current}flows: { up: deny, down: deny, lateral: deny }\n`);
    sup.kill('SIGHUP');
    await until(() => (String(reloads().at(-1)?.changes).startsWith('flows changed') ? true : null), 'the flows change');
    expect(reloads().at(-1)).toMatchObject({ decision: 'applied', restarted: '' });
    expect([xvncPidOf(LOW_UID), xvncPidOf(HIGH_UID)]).toEqual([low, high]);
  });

  it('the admin socket is group-restricted, answers status, and refuses content requests', async () => {
    const st = statSync(adminSocket);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(4); // Debian's adm group, given with --admin-group adm
    const status = await cli('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`policySource: ${policyFile}`);
    expect(status.stdout).toMatch(/policySha256: [0-9a-f]{64}/);
    for (const method of ['clipboard.state', 'clipboard.copy', 'files.list', 'trust.get', 'devices.list', 'vnc.ticket', 'session.describe']) {
      const reply = await adminCall(adminSocket, method);
      expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED', message: expect.stringContaining('never any content') } });
    }
    // The shell's socket is the kiosk user's group's (--shell-group staff), not the admin's.
    expect(statSync(join(runDir, 'supervisor.sock'))).toMatchObject({ gid: 50 });
    expect(statSync(join(runDir, 'supervisor.sock')).mode & 0o777).toBe(0o660);
  });

  it('refuses an oversize policy on reload with the loader\'s message; the running one stays', async () => {
    const before = reloads().length;
    const current = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, `${current}# ${'x'.repeat(300 * 1024)}\n`);
    sup.kill('SIGHUP');
    const last = await until(() => (reloads().length > before ? reloads().at(-1) : null), 'the refusal');
    expect(last).toMatchObject({ decision: 'refused', reason: expect.stringContaining(`${policyFile}:1:1: file is `) });
    expect(last.reason).toContain('a policy may be at most 262144');
    writeFileSync(policyFile, current);
  });

  it('a reload that gives a level the microphone takes effect at once: that cage restarts with a microphone', async () => {
    // This supervisor's own cages, by their records (another run of this file may hold the same uids).
    const xvncOf = (level: string) => (JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as { xvnc: { pid: number } }).xvnc.pid;
    const [low, high] = [xvncOf('low'), xvncOf('high')];
    const micFifo = join(runDir, 'cages', 'low', 'sound', 'mic.fifo');
    expect(statOrNull(micFifo)).toBeNull();
    writeFileSync(policyFile, `${readFileSync(policyFile, 'utf8')}audio: { microphone: [low] }\n`);
    sup.kill('SIGHUP');
    await until(() => (String(reloads().at(-1)?.changes).includes('audio changed') ? true : null), 'the reload', 40_000);
    expect(reloads().at(-1)).toMatchObject({ decision: 'applied', restarted: 'low' });
    await until(() => (statOrNull(join(runDir, 'cages', 'low', 'cage.json')) && xvncOf('low') !== low ? true : null), 'the low cage to restart', 40_000);
    expect(statOrNull(micFifo)?.isFIFO()).toBe(true);
    expect(xvncOf('high')).toBe(high);
  }, 90_000);

  it('a reload that sets usb.loopDevices takes effect at once: a key over an image there is seen', async (ctx) => {
    if (!kernelHasFilesystem('ext4')) skipWithReason(ctx, 'the kernel has no ext4 filesystem for the test key');
    const keys = new LoopKeys(join(root, 'usb'));
    try {
      await keys.plug({ format: 'ext4', fileName: 'reload-key.img', label: 'RELOAD' });
      const shell = await rpcClient(join(runDir, 'supervisor.sock'));
      const listed = async () => ((await shell.call('devices.list', {})).result as { devices: Array<{ serial: string }> }).devices.some((d) => d.serial === 'reload-key.img');
      await new Promise((r) => setTimeout(r, 1500)); // more than a scan
      expect(await listed()).toBe(false);
      writeFileSync(policyFile, `${readFileSync(policyFile, 'utf8')}usb: { loopDevices: { backingDir: ${keys.backingDir} } }\n`);
      sup.kill('SIGHUP');
      // As long as the microphone reload above is given: 10 s is near what a reload takes on a loaded machine.
      const deadline = Date.now() + 40_000;
      while (!(await listed()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await listed()).toBe(true);
      shell.close();
    } finally {
      await keys.cleanup();
    }
  }, 90_000);
});

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
