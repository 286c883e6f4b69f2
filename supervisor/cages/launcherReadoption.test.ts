/**
 * The cage's launcher survives the supervisor: a cage re-adopted after its supervisor was killed
 * with SIGKILL starts programs again — true cage processes (its filter, its control group, its
 * uid) — and knows again what was started before the crash. Only the recorded launcher may connect
 * as it: another process of the cage's user (in the cage, or outside its pid namespace) is refused
 * and journaled, and none can take the socket's name. Real cages (orphanCage.ts).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireBinary } from '../system/binaries';
import { BwrapDriver } from './bwrapDriver';
import type { Adoption } from './cageAdoption';
import type { RunningCage } from './cageDriver';
import { launch, launched, run } from './cageLauncher';
import { isSameProcess, readCageRecord, type CageRecord } from './cageRecord';
import { cageProcess, hostPidOf } from '../testing/cageProcesses';
import { startOrphanCage, type OrphanCage } from '../testing/orphanCage';
import { cageShell } from '../testing/realCage';
import { startInCage } from '../testing/enterCage';
import { waitFor } from '../testing/waitFor';

function recordOf(orphan: OrphanCage): CageRecord {
  const r = readCageRecord(orphan.options.paths.run);
  if (!r || 'unreadable' in r) throw new Error('no cage record');
  return r;
}

/** A node program that kills the cage's real launcher and connects as it, answering every run with "impostor". */
const IMPOSTOR = String.raw`
const fs = require('fs');
const net = require('net');
for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
  try {
    if (fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\0')[1] === '/run/cloison-launcher.mjs') process.kill(Number(p), 'SIGKILL');
  } catch {}
}
let up = false;
setInterval(() => {
  if (up) return;
  up = true;
  const s = net.createConnection('/run/cloison-launcher/launcher.sock');
  s.on('connect', () => s.write(JSON.stringify({ event: 'hello', programs: [] }) + '\n'));
  s.on('data', (d) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      const r = JSON.parse(line);
      s.write(JSON.stringify({ id: r.id, code: 0, signal: null, stdout: Buffer.from('impostor').toString('base64'), stderr: '' }) + '\n');
    }
  });
  s.on('error', () => {});
  s.on('close', () => { up = false; });
}, 100);
`;

/** Puts the impostor in the cage's home (root writes it on the host side; the cage reads it at /home/cloison). */
function plantImpostor(o: OrphanCage): string {
  writeFileSync(join(o.options.paths.home, 'impostor.js'), IMPOSTOR, { mode: 0o644 });
  return '/home/cloison/impostor.js';
}

describe('the cage launcher after a supervisor killed with SIGKILL', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 30_000);

  async function orphan(level: string): Promise<OrphanCage> {
    const o = await startOrphanCage(level, { apps: [{ id: 'sleeper', exec: ['sleep', '901'], autostart: true }] });
    cleanups.push(() => o.cleanUp());
    return o;
  }

  async function adopt(o: OrphanCage, journal?: (kind: string, fields: Record<string, string>) => void): Promise<RunningCage> {
    const adoption = await new BwrapDriver({ ...o.options, ...(journal ? { journal } : {}) }).adopt();
    expect(adoption).toMatchObject({ kind: 'adopted' });
    const cage = (adoption as Extract<Adoption, { kind: 'adopted' }>).cage;
    cleanups.push(() => cage.stop());
    return cage;
  }

  it('starts programs in the re-adopted cage: its filter, its control group, its uid; and knows what ran before', async () => {
    const o = await orphan('relaunch');
    const record = recordOf(o);
    expect(record.launcher).not.toBeNull();
    const cage = await adopt(o);
    expect(isSameProcess(record.xvnc)).toBe(true);

    const r = await run(cage, { argv: ['sh', '-c', 'grep Seccomp: /proc/self/status; id -u'] });
    expect(r).toMatchObject({ stdout: `Seccomp:\t2\n${o.options.uid}\n`, code: 0 });
    const program = await launch(cage, { argv: ['sleep', '602'] });
    const p = cageProcess(hostPidOf(record.inner.pid, program.pid)!)!;
    const xvnc = cageProcess(record.xvnc.pid)!;
    expect({ command: p.command, seccomp: p.seccomp, noNewPrivs: p.noNewPrivs, capEff: p.capEff, uid: p.uid, cgroup: p.cgroup }).toEqual({ command: 'sleep 602', seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', uid: o.options.uid, cgroup: xvnc.cgroup });
    expect(p.cgroup).toMatch(/relaunch-/);
    // What the dead supervisor started is listed again (the launcher's hello).
    expect(launched(cage).map((l) => l.argv.join(' ')).sort()).toEqual(['sleep 602', 'sleep 901']);
  }, 60_000);

  it('refuses a process of the cage that killed the launcher and connects as it; journaled', async () => {
    const o = await orphan('impostor');
    const record = recordOf(o);
    // While no supervisor runs: the cage's user takes the launcher's place.
    startInCage({ innerPid: o.innerPid, uid: o.options.uid }, `exec node ${plantImpostor(o)}`);
    await waitFor(() => !isSameProcess(record.launcher!), 'the real launcher to be killed');
    const journaled: Array<{ kind: string; fields: Record<string, string> }> = [];
    const cage = await adopt(o, (kind, fields) => journaled.push({ kind, fields }));
    await waitFor(() => journaled.length > 0, 'the impostor to be refused', 15_000);
    expect(journaled[0]).toMatchObject({ kind: 'cage.launcher', fields: { level: 'impostor', decision: 'refused', reason: expect.stringMatching(/other than its launcher/) as unknown as string } });
    // Nothing is run by the impostor: the cage only denied itself programs, and is told so.
    await expect(run(cage, { argv: ['true'] })).rejects.toThrow(/its launcher has stopped/);
    // Its windows were kept: the same Xvnc runs.
    expect(isSameProcess(record.xvnc)).toBe(true);
  }, 60_000);

  it('refuses a process of the cage user outside its pid namespace; no cage process can take the socket name', async () => {
    const o = await orphan('outside');
    const { uid } = o.options;
    const sh = cageShell(o.innerPid, uid);
    // The name is root's, in root's folder: the cage's user can neither replace it nor bind beside it.
    expect((await sh('rm -f /run/cloison-launcher/launcher.sock; echo $?')).stdout.trim()).not.toBe('0');
    const bind = await sh(`node -e "require('net').createServer().listen('/run/cloison-launcher/x.sock').on('error', (e) => { console.log(e.code); process.exit(1); })"`);
    expect(bind.stdout.trim()).toBe('EACCES');
    // The cage's mounts but the host's pid namespace: kills the launcher, then connects as it.
    const journaled: Array<{ kind: string; fields: Record<string, string> }> = [];
    const record = recordOf(o);
    process.kill(record.launcher!.pid, 'SIGKILL');
    const outsider = execFile(requireBinary('nsenter'), ['-t', String(o.innerPid), '-m', '--', 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, plantImpostor(o)]);
    await waitFor(() => !isSameProcess(record.launcher!), 'the real launcher to be killed');
    cleanups.push(async () => outsider.kill('SIGKILL'));
    const cage = await adopt(o, (kind, fields) => journaled.push({ kind, fields }));
    await waitFor(() => journaled.length > 0, 'the outsider to be refused', 15_000);
    expect(journaled[0]).toMatchObject({ kind: 'cage.launcher', fields: { decision: 'refused', reason: expect.stringMatching(/outside the cage/) as unknown as string, peerUid: String(uid) } });
    await expect(run(cage, { argv: ['true'] })).rejects.toThrow(/its launcher has stopped/);
  }, 60_000);
});
