/**
 * `systemctl restart cloison-cage-manager` keeps the cages: the stop and start the packaged unit
 * makes, done as systemd does them — the cage manager (with its cloison part) in a control group
 * standing for the unit's, in a mount namespace of its own when the unit's options make one
 * (ProtectSystem=, ProtectHome=…: systemd makes a new one at every start), ExecStart's options
 * (--keep-cages-on-stop), SIGTERM to the main process and then what the unit's KillMode= sends to
 * the rest of its group — and the next start's part gets both cages back from the new manager,
 * which adopts them: the same Xvnc, viewers connect again through the new part.
 *
 * Where systemd runs as the system manager the same is done through systemctl on a copy of the
 * unit; here (a container, a build machine) that part is skipped with the reason printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { isSameProcess, type CageRecord } from '../supervisor/cages/cageRecord';
import { startInCage } from '../supervisor/testing/enterCage';
import { skipWithReason } from '../supervisor/testing/skipWithReason';
import { cageShell, testRoot } from '../supervisor/testing/realCage';
import { recentLines, runSupervisor, viewerConnects, type SupervisorRun } from '../supervisor/testing/supervisorRun';
import { twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';

const UNIT = 'deploy/systemd/cloison-cage-manager.service';
const LOW_UID = 58503;
const HIGH_UID = 58504;
const cage = (uid: number) => `{ driver: bwrap, network: none, geometry: 800x600, uid: ${uid}, apps: [] }`;

/** The unit's [Service] settings, last one wins (as systemd reads them). */
function unitSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1]!, m[2]!);
  }
  return settings;
}

/** Settings that make systemd give the service a mount namespace of its own (a new one at each start). */
const MOUNT_NAMESPACE_SETTINGS = ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectKernelTunables', 'ProtectControlGroups', 'ProtectProc', 'ReadOnlyPaths', 'ReadWritePaths', 'InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'BindReadOnlyPaths', 'MountFlags'];

function makesMountNamespace(settings: Map<string, string>): string[] {
  return MOUNT_NAMESPACE_SETTINGS.filter((name) => settings.has(name) && !['no', 'false', '', 'default'].includes(settings.get(name)!));
}

/** Where systemd would keep the unit's processes: the v2 hierarchy, or on v1 and hybrid hosts its own named one. */
function unitGroupRoot(): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  if (existsSync('/sys/fs/cgroup/systemd')) return '/sys/fs/cgroup/systemd';
  throw new Error('no cgroup hierarchy to stand for the unit\'s group');
}

function groupProcesses(group: string): number[] {
  return readFileSync(join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

const signal = (pids: number[], sig: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
};

/** The manager started as the unit does; resolves at its part's "ready" line, with the part's browser host. */
async function runManager(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<SupervisorRun> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOISON_LOG_LEVEL: 'warn', ...env } });
  const recentLog = recentLines(child.stderr);
  const origin = await new Promise<string>((resolve, reject) => {
    let origin = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const said = JSON.parse(line) as { listening?: boolean; rpcSocket?: string; ready?: boolean; partFailed?: boolean; reason?: string; origin?: string };
      if (said.partFailed) reject(new Error(`the cloison part did not start: ${said.reason}`));
      // The manager's own "listening" line names no shell's socket: the part's does.
      if (said.listening && said.rpcSocket) origin = said.origin ?? '';
      if (said.ready) resolve(origin);
    });
    child.once('exit', (code) => reject(new Error(`the cage manager exited ${code}; its last lines:\n${recentLog()}`)));
  });
  return { child, origin, recentLog };
}

describe('the packaged unit restarted', () => {
  const text = readFileSync(UNIT, 'utf8');
  const settings = unitSettings(text);

  it('is restarted through systemctl where systemd is the system manager (skipped, with the reason)', (ctx) => {
    let state = '';
    try {
      state = execFileSync('systemctl', ['is-system-running'], { encoding: 'utf8' }).trim();
    } catch (err) {
      state = String((err as { stdout?: string }).stdout ?? '').trim() || 'unknown';
    }
    skipWithReason(
      ctx,
      !['running', 'degraded'].includes(state)
        ? `systemctl is-system-running says "${state}" (systemd is not this machine's system manager); the stop and start below are done as the unit would`
        : 'a real `systemctl restart` of an installed copy of the unit is not automated yet; the stop and start below are done as the unit would',
    );
  });

  const root = testRoot('cloison-unit-');
  const stateDir = join(root, 'state');
  const runDir = join(root, 'run');
  // The part's own run folder (the shell's socket), beside the manager's (the cages' records).
  const partRunDir = join(root, 'run-broker');
  chmodSync(root, 0o711); // the part (cloison) reaches its folders beside the manager's
  const group = join(unitGroupRoot(), `cloison-unit-test-${process.pid}`);
  let current: SupervisorRun | null = null;
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: cage(LOW_UID), high: cage(HIGH_UID) }));

  afterAll(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill('SIGINT'); // a stop that ends the cages too
      await new Promise((r) => current!.child.once('exit', r));
    }
    if (existsSync(group)) {
      signal(groupProcesses(group), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      rmdirSync(group);
    }
    rmSync(root, { recursive: true, force: true });
  }, 30_000);

  /** The unit's start: its group, a new mount namespace if its options make one, ExecStart's options. */
  const start = async () => {
    mkdirSync(group, { recursive: true });
    const namespaced = makesMountNamespace(settings).length > 0;
    const joinGroup = ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', join(group, 'cgroup.procs')];
    const prefix = [...joinGroup, ...(namespaced ? ['unshare', '--mount', '--propagation', 'slave', '--'] : [])];
    const execStart = settings.get('ExecStart') ?? '';
    const extraArgs = execStart.includes('--keep-cages-on-stop') ? ['--keep-cages-on-stop'] : [];
    current = await runManager([...prefix, process.execPath, 'out/supervisor/cageManager.js', '--policy', join(root, 'p.yaml'), '--state-dir', stateDir, '--run-dir', runDir, '--browser-shell', '--port', '0', ...extraArgs]);
    return current;
  };

  /** The unit's stop: SIGTERM to the main process, then what KillMode= says for the rest of its group. */
  const stop = async (run: SupervisorRun) => {
    const killMode = settings.get('KillMode') ?? 'control-group';
    const exited = new Promise((r) => run.child.once('exit', r));
    if (killMode === 'control-group') signal(groupProcesses(group), 'SIGTERM');
    else run.child.kill('SIGTERM');
    await exited;
    // After the main process: mixed sends SIGKILL to what is left; control-group does once its stop times out.
    if (killMode === 'mixed') signal(groupProcesses(group), 'SIGKILL');
    if (killMode === 'control-group') {
      await new Promise((r) => setTimeout(r, 1000));
      signal(groupProcesses(group), 'SIGKILL');
    }
  };

  const recordOf = (level: string) => JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as CageRecord;

  it('keeps both cages: the next start re-adopts them, the same Xvnc, viewers connect again', async () => {
    console.log(`unit: KillMode=${settings.get('KillMode') ?? 'control-group (default)'}; mount namespace from: ${makesMountNamespace(settings).join(', ') || 'none'}`);
    let run = await start();
    await viewerConnects(partRunDir, run.origin, 'low');
    const low = recordOf('low');
    const high = recordOf('high');
    // The user's work in the low cage: a counter that must go on counting through the restart.
    const sh = cageShell(low.inner.pid, LOW_UID);
    const counter = async () => Number((await sh('cat "$HOME/counter" 2>/dev/null || echo 0')).stdout.trim() || 0);
    startInCage({ innerPid: low.inner.pid, uid: LOW_UID }, 'i=0; while true; do i=$((i+1)); echo $i > "$HOME/counter"; sleep 0.1; done');
    await waitFor(async () => (await counter()) > 3, 'the counter in the low cage');
    await stop(run);
    await new Promise((r) => setTimeout(r, 1000));
    expect(isSameProcess(low.xvnc), 'the low cage outlives the unit\'s stop').toBe(true);
    expect(isSameProcess(high.xvnc), 'the high cage outlives the unit\'s stop').toBe(true);

    run = await start();
    // Adopted, not started again: the same sandbox and Xvnc recorded, and still running.
    expect(recordOf('low').xvnc).toEqual(low.xvnc);
    expect(recordOf('high').xvnc).toEqual(high.xvnc);
    await viewerConnects(partRunDir, run.origin, 'low');
    await viewerConnects(partRunDir, run.origin, 'high');
    expect(isSameProcess(low.xvnc)).toBe(true);
    await waitFor(() => isSameProcess(high.xvnc), 'the high cage');
    const now = await counter();
    await waitFor(async () => (await counter()) > now + 3, 'the counter still counting after the restart');
  }, 180_000);

  it('SIGINT (Ctrl+C, the package\'s removal) still ends the cages with the manager and its part, --keep-cages-on-stop or not', async () => {
    const run = current ?? (await start());
    const low = recordOf('low');
    const high = recordOf('high');
    const exited = new Promise((r) => run.child.once('exit', r));
    run.child.kill('SIGINT');
    await exited;
    await waitFor(() => !isSameProcess(low.xvnc) && !isSameProcess(high.xvnc), 'both cages ended with the manager');
  }, 120_000);
});

describe('an upgrade from a root-supervisor install (cloison-supervisor.service to cloison-cage-manager.service)', () => {
  const root = testRoot('cloison-unitswitch-');
  chmodSync(root, 0o711);
  const stateDir = join(root, 'state');
  const runDir = join(root, 'run');
  let manager: SupervisorRun | null = null;
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: cage(LOW_UID + 10), high: cage(HIGH_UID + 10) }));
  const recordOf = (level: string) => JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as CageRecord;

  afterAll(async () => {
    if (manager && manager.child.exitCode === null) {
      manager.child.kill('SIGINT');
      await new Promise((r) => manager!.child.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('the cage manager started in the supervisor\'s place (the units\' Conflicts= stops it first) adopts the cages it left: the same Xvnc, viewers connect through the part', async () => {
    // vitest runs supervisorRun.ts's root supervisor (splitSupervisor.ts), on the folders both units name.
    const supervisor = await runSupervisor(join(root, 'p.yaml'), stateDir, runDir, { extraArgs: ['--keep-cages-on-stop'] });
    await viewerConnects(runDir, supervisor.origin, 'low');
    const low = recordOf('low');
    const high = recordOf('high');
    const exited = new Promise((r) => supervisor.child.once('exit', r));
    supervisor.child.kill('SIGTERM');
    await exited;
    expect(isSameProcess(low.xvnc), 'the low cage outlives the supervisor').toBe(true);
    manager = await runManager([process.execPath, 'out/supervisor/cageManager.js', '--policy', join(root, 'p.yaml'), '--state-dir', stateDir, '--run-dir', runDir, '--browser-shell', '--port', '0', '--keep-cages-on-stop']);
    expect(recordOf('low').xvnc).toEqual(low.xvnc);
    expect(recordOf('high').xvnc).toEqual(high.xvnc);
    await viewerConnects(join(root, 'run-broker'), manager.origin, 'low');
    await viewerConnects(join(root, 'run-broker'), manager.origin, 'high');
    expect(isSameProcess(low.xvnc)).toBe(true);
    expect(isSameProcess(high.xvnc)).toBe(true);
  }, 180_000);

  it('and back: the single supervisor started in the manager\'s place (an administrator\'s choice) adopts the cages the manager left', async () => {
    const low = recordOf('low');
    const high = recordOf('high');
    const exited = new Promise((r) => manager!.child.once('exit', r));
    manager!.child.kill('SIGTERM');
    await exited;
    expect(isSameProcess(low.xvnc), 'the low cage outlives the manager').toBe(true);
    manager = await runSupervisor(join(root, 'p.yaml'), stateDir, runDir, { extraArgs: ['--keep-cages-on-stop'] });
    const journal = readFileSync(join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; level?: string; reason?: string });
    const adoption = journal.filter((r) => r.kind === 'cage.adopted' || r.kind === 'cage.adoption').slice(-2);
    expect(adoption.map((r) => `${r.kind} ${r.level}${r.reason ? `: ${r.reason}` : ''}`).sort()).toEqual(['cage.adopted high', 'cage.adopted low']);
    expect(recordOf('low').xvnc).toEqual(low.xvnc);
    await viewerConnects(runDir, manager.origin, 'low');
    await viewerConnects(runDir, manager.origin, 'high');
    expect(isSameProcess(high.xvnc)).toBe(true);
  }, 180_000);
});

describe('the machine shutting down (the unit stopped by poweroff or reboot: SIGTERM while systemd says "stopping")', () => {
  const root = testRoot('cloison-unitshutdown-');
  chmodSync(root, 0o711);
  const stateDir = join(root, 'state');
  const runDir = join(root, 'run');
  // systemd's answer during a shutdown, as `systemctl is-system-running` gives it (this machine may have no systemd running).
  const tools = join(root, 'tools');
  mkdirSync(tools);
  writeFileSync(join(tools, 'systemctl'), '#!/bin/sh\n[ "$1" = is-system-running ] && echo stopping\nexit 1\n', { mode: 0o755 });
  const withApp = (uid: number) => `{ driver: bwrap, network: none, geometry: 800x600, uid: ${uid}, apps: [{ id: logo, exec: [xlogo], autostart: true }] }`;
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: withApp(58505), high: withApp(58506) }));
  let manager: SupervisorRun | null = null;
  let cagesLeft: CageRecord[] = [];
  const recordOf = (level: string) => JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as CageRecord;
  const start = (env: NodeJS.ProcessEnv = {}) => runManager([process.execPath, 'out/supervisor/cageManager.js', '--policy', join(root, 'p.yaml'), '--state-dir', stateDir, '--run-dir', runDir, '--browser-shell', '--port', '0', '--keep-cages-on-stop'], env);
  const stopWithCages = async (run: SupervisorRun) => {
    if (run.child.exitCode !== null) return;
    const exited = new Promise((r) => run.child.once('exit', r));
    run.child.kill('SIGINT');
    await exited;
  };

  afterAll(async () => {
    if (manager) await stopWithCages(manager);
    // Cages a failed run left (the stop kept them): a manager adopts them, and its SIGINT ends them.
    if (cagesLeft.some((c) => isSameProcess(c.xvnc))) await stopWithCages(await start());
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('ends the cages, each level\'s applications asked to close first: no next manager would adopt them, and systemd\'s last step would kill them unasked', async () => {
    manager = await start({ PATH: `${tools}:${process.env.PATH}` });
    await viewerConnects(join(root, 'run-broker'), manager.origin, 'low');
    const cages = { low: recordOf('low'), high: recordOf('high') };
    cagesLeft = Object.values(cages);
    for (const [level, record] of Object.entries(cages)) {
      const sh = cageShell(record.inner.pid, level === 'low' ? 58505 : 58506);
      await waitFor(async () => (await sh('pgrep -x xlogo || true')).stdout.trim() !== '', `the ${level} cage's application running`);
    }
    const exited = new Promise((r) => manager!.child.once('exit', r));
    manager.child.kill('SIGTERM');
    await exited;
    await waitFor(() => !isSameProcess(cages.low.xvnc) && !isSameProcess(cages.high.xvnc), 'both cages ended with the manager');
    // The applications were asked (each window closed through the window manager), not killed with their cage.
    // The manager's journal and its part's (`<state-dir>-broker`), where the supervisor's stop records them.
    const facts = [stateDir, `${stateDir}-broker`]
      .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl')).map((f) => join(dir, f)))
      .flatMap((f) => readFileSync(f, 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l) as { kind: string; level?: string; outcome?: string; windows?: number });
    const quits = facts.filter((r) => r.kind === 'cage.apps.quit').map((r) => `${r.level}: ${r.outcome}, ${r.windows} window(s)`).sort();
    expect(quits).toEqual(['high: all quit, 1 window(s)', 'low: all quit, 1 window(s)']);
  }, 180_000);
});
