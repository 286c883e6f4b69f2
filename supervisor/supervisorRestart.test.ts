/**
 * Work survives the supervisor: the built supervisor, killed with SIGKILL (a crash, the OOM killer)
 * while the low cage has unsaved text in an editor and a counter running in a terminal, then
 * started again on the same folders. The same Xvnc processes run on, the counter never stopped,
 * the unsaved text is still in the editor (saved after the restart, it is all there), viewers
 * connect to both cages again, applications start in the re-adopted cage as before (its launcher
 * reconnected), a connected shell reconnects with its resume token (no new launch), and the
 * journal's chain runs on unbroken across the crash.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readHead, verifyJournal } from './audit/auditJournal';
import { isSameProcess, type CageRecord } from './cages/cageRecord';
import { cageProcess, hostPidOf } from './testing/cageProcesses';
import { cageShell, testRoot } from './testing/realCage';
import { rpcClient } from './testing/rpcClient';
import { runSupervisor, viewerConnects as viewerConnectsAt } from './testing/supervisorRun';
import { twoLevelPolicy } from './testing/testPolicy';
import { waitFor } from './testing/waitFor';

const LOW_UID = 59877;
const HIGH_UID = 59878;
const COUNTER = 'i=0; while :; do i=$((i+1)); echo $i > $HOME/counter; sleep 0.1; done';
const cage = (uid: number, apps: string) => `{ driver: bwrap, network: none, geometry: 800x600, uid: ${uid}, apps: ${apps} }`;
const POLICY = twoLevelPolicy({
  low: cage(LOW_UID, `[[xterm, -T, counter, -e, sh, -c, "${COUNTER}"], [xterm, -T, editor, -e, vim, -n, /home/cloison/notes.txt]]`),
  high: cage(HIGH_UID, '[]'),
});

/** A shell's RPC WebSocket as the browser host's page opens it; resolves with its admission (onSession). */
function shellSocket(origin: string, credential: string): Promise<{ ws: WebSocket; admission: { session: string; resume: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}/rpc`, ['cloison.v1', credential], { origin });
    ws.on('message', (d) => {
      const frame = JSON.parse(d.toString()) as { type: string; name?: string; data?: { session: string; resume: string } };
      if (frame.type === 'event' && frame.name === 'onSession') resolve({ ws, admission: frame.data! });
    });
    ws.on('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

describe('a supervisor killed with SIGKILL and started again', () => {
  const root = testRoot();
  const runDir = join(root, 'run');
  const stateDir = join(root, 'state');
  writeFileSync(join(root, 'p.yaml'), POLICY);
  let current: ChildProcess | null = null;
  let currentLog = () => '';

  const startSupervisor = async () => {
    const run = await runSupervisor(join(root, 'p.yaml'), stateDir, runDir);
    current = run.child;
    currentLog = run.recentLog;
    return run;
  };
  const viewerConnects = (origin: string, level: string) => viewerConnectsAt(runDir, origin, level, 60_000, () => currentLog());

  const recordOf = (level: string) => JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as CageRecord;
  const journal = () => readFileSync(join(stateDir, 'audit.jsonl'), 'utf8');
  const records = () => journal().trim().split('\n').map((l) => JSON.parse(l) as { kind: string; level?: string });

  afterAll(async () => {
    if (current && current.exitCode === null) {
      current.kill('SIGTERM');
      await new Promise((r) => current!.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it('the same Xvnc, the unsaved text and the running counter survive; viewers reconnect; the journal chain holds', async () => {
    let sup = await startSupervisor();
    await viewerConnects(sup.origin, 'low');
    await viewerConnects(sup.origin, 'high');
    const low = recordOf('low');
    const high = recordOf('high');
    const sh = cageShell(low.inner.pid, LOW_UID);
    const counter = async () => Number((await sh('cat $HOME/counter 2>/dev/null || echo 0')).stdout.trim() || 0);
    await waitFor(async () => (await counter()) > 3, 'the counter in the terminal', 20_000);
    // Unsaved text in the editor, typed as a user types (XTEST events on the cage's display).
    await waitFor(async () => (await sh('xdotool search --name editor')).stdout.trim() !== '', 'the editor window', 20_000);
    const typed = await sh('xdotool search --name editor windowactivate --sync; sleep 0.3; xdotool type --delay 20 "iunsaved words"; xdotool key Escape');
    expect(typed.code).toBe(0);
    // A browser-host shell is connected: launched once, it holds a resume token.
    const launcher = await rpcClient(join(runDir, 'supervisor.sock'));
    const launchUrl = ((await launcher.call('shell.launch', {})).result as { url: string }).url;
    launcher.close();
    const shell = await shellSocket(sup.origin, `cloison-launch.${launchUrl.split('#launch=')[1]!}`);
    const admitted = shell.admission;

    sup.child.kill('SIGKILL');
    await new Promise((r) => sup.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 3000)); // the cages used to be gone by now
    expect(isSameProcess(low.xvnc)).toBe(true);
    expect(isSameProcess(high.xvnc)).toBe(true);
    const whileDown = await counter();
    // A step every 0.1 s of the cage's shell: on a loaded machine, later than 500 ms.
    await waitFor(async () => (await counter()) > whileDown, 'the counter counting on while the supervisor is down', 10_000).catch(() => undefined);
    expect(await counter()).toBeGreaterThan(whileDown);

    sup = await startSupervisor();
    // The shell reconnects with its resume token, no new launch: the same session.
    const resumed = await shellSocket(sup.origin, `cloison-resume.${admitted.resume}`);
    expect(resumed.admission.session).toBe(admitted.session);
    resumed.ws.close();
    expect(records().filter((r) => r.kind === 'cage.adopted').map((r) => r.level).sort()).toEqual(['high', 'low']);
    expect(recordOf('low').xvnc).toEqual(low.xvnc);
    expect(recordOf('high').xvnc).toEqual(high.xvnc);
    const afterRestart = await counter();
    await waitFor(async () => (await counter()) > afterRestart, 'the counter counting on after the restart', 10_000).catch(() => undefined);
    expect(await counter()).toBeGreaterThan(afterRestart);
    await viewerConnects(sup.origin, 'low');
    await viewerConnects(sup.origin, 'high');
    // Applications start again in the re-adopted cage, through its launcher: true cage processes.
    const rpc = await rpcClient(join(runDir, 'supervisor.sock'));
    const list = await rpc.call('apps.list', {});
    const levels = (list.result as { levels: Array<{ level: string; apps: Array<{ id: string }> }> }).levels;
    const launched = await rpc.call('apps.launch', { level: 'low', id: levels.find((l) => l.level === 'low')!.apps[0]!.id });
    expect(launched).toMatchObject({ ok: true });
    const { pid } = launched.result as { pid: number };
    rpc.close();
    const app = cageProcess(hostPidOf(low.inner.pid, pid)!)!;
    expect({ seccomp: app.seccomp, uid: app.uid, cgroup: app.cgroup }).toEqual({ seccomp: 2, uid: LOW_UID, cgroup: cageProcess(low.xvnc.pid)!.cgroup });
    // The text typed before the crash was never saved; saved now, it is all there.
    expect((await sh('cat $HOME/notes.txt 2>/dev/null; echo')).stdout.trim()).toBe('');
    // Saved as a user would, again if a loaded machine lost the keys (Escape first: :w typed twice is harmless).
    const save = () => sh('xdotool search --name editor windowactivate --sync; sleep 0.3; xdotool key Escape; xdotool type --delay 20 ":w"; xdotool key Return');
    await save();
    let saves = 1;
    await waitFor(async () => {
      if ((await sh('cat $HOME/notes.txt 2>/dev/null')).stdout.includes('unsaved words')) return true;
      if (saves++ % 10 === 0) await save();
      return false;
    }, 'the saved text', 30_000);
    // One chain across the crash: the second supervisor extended the first one's journal.
    const path = join(stateDir, 'audit.jsonl');
    expect(verifyJournal(journal(), readHead(path))).toMatchObject({ ok: true });
  }, 180_000);
});
