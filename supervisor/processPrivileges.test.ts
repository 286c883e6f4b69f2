/**
 * Every long-running process of a started supervisor, its uid, CapEff, NoNewPrivs and Seccomp read
 * from /proc and compared to the table of what each role holds once #29 is done: only the cage
 * manager is root with capabilities; the process that accepts browser connections is `cloison`'s,
 * with none. Rows already true are asserted; a row not yet true is reported with what /proc shows
 * today (skipped with that reason), and fails the day it comes true without being marked done.
 * A process no row describes fails the test: a new long-running process needs its row.
 * Twice: as the root supervisor starts today, and split (#29: the cage manager, root, starts the
 * supervisor as its `cloison` part), where only the manager is root; a split row no process fills
 * yet (the cages, until the part's fleet starts them through the manager) is skipped as not yet.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X_HELPER_UIDS } from './system/ownUids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalWriterAccount } from './audit/journalKey';
import { cloisonProcesses, type CloisonProcess } from './testing/cloisonProcesses';
import { testRoot } from './testing/realCage';
import { skipWithReason } from './testing/skipWithReason';
import { privilegeStatus } from './system/selfRestriction';
import { runSupervisor } from './testing/supervisorRun';
import { waitFor } from './testing/waitFor';
import { bwrapCage, twoLevelPolicy } from './testing/testPolicy';

const LOW_UID = 58643;
const HIGH_UID = 58644;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, apps: '[[xterm]]' }), high: bwrapCage({ uid: HIGH_UID }) });
const SPLIT_POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID + 10, apps: '[[xterm]]' }), high: bwrapCage({ uid: HIGH_UID + 10 }) });

/**
 * The capabilities the cage manager holds, exactly (sandbox/rootPartRestriction.ts says why each;
 * the packaged units' CapabilityBoundingSet is the same): CapEff 00000000802c15eb.
 */
export const MANAGER_CAPABILITIES: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_SETPCAP: 8, CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_SYS_CHROOT: 18, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21, CAP_SETFCAP: 31,
};
const MANAGER_MASK = Object.values(MANAGER_CAPABILITIES).reduce((m, bit) => m | (1n << BigInt(bit)), 0n);

type Uid = 'root' | 'cloison' | 'the level\'s';
interface Target {
  uid: Uid;
  /** none: CapEff 0; manager: CapEff and CapBnd exactly MANAGER_CAPABILITIES. */
  caps: 'none' | 'manager';
  noNewPrivs: 0 | 1;
  seccomp: 0 | 2 | 'any';
}
interface Row {
  role: string;
  /** Which processes fill this role. */
  is: (p: CloisonProcess, supervisorPid: number) => boolean;
  target: Target;
  /** True once the code gives it: then asserted. */
  done: boolean;
}

const isBwrap = (p: CloisonProcess) => p.command.startsWith('/usr/bin/bwrap ') || p.command.startsWith('bwrap ');
const isSoundPart = (p: CloisonProcess) => /\/out\/supervisor\/soundPart\.js$|\/supervisor\/audio\/soundPartMain\.ts$/.test(p.command);
const isCloisonPart = (p: CloisonProcess) => /\/out\/supervisor\/cloisonPart\.js$/.test(p.command);
const TABLE: Row[] = [
  { role: 'cage manager (the supervisor\'s root part)', is: (p, sup) => p.pid === sup, target: { uid: 'root', caps: 'manager', noNewPrivs: 0, seccomp: 2 }, done: true },
  { role: 'the process that accepts browser connections', is: (p) => p.listens.length > 0, target: { uid: 'cloison', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'the sound part (reads what the cages write into their sound)', is: (p) => isSoundPart(p), target: { uid: 'cloison', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'bwrap outside the cage (waits for it)', is: (p) => isBwrap(p) && !p.inCage, target: { uid: 'root', caps: 'none', noNewPrivs: 1, seccomp: 'any' }, done: true },
  { role: 'bwrap as the cage\'s first process', is: (p) => isBwrap(p) && p.inCage, target: { uid: 'root', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'cage process', is: (p) => p.inCage && !isBwrap(p), target: { uid: 'the level\'s', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
];

/** Split (#29): the cage manager the one root process; the supervisor its `cloison` part. */
const SPLIT_TABLE: Row[] = [
  { role: 'cage manager', is: (p, manager) => p.pid === manager, target: { uid: 'root', caps: 'manager', noNewPrivs: 0, seccomp: 2 }, done: true },
  { role: 'the cloison part (the supervisor: brokers, journal, the shell\'s sockets)', is: isCloisonPart, target: { uid: 'cloison', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'the process that accepts browser connections', is: (p) => p.listens.length > 0, target: { uid: 'cloison', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'the sound part', is: (p) => isSoundPart(p), target: { uid: 'cloison', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'bwrap outside the cage (waits for it)', is: (p) => isBwrap(p) && !p.inCage, target: { uid: 'root', caps: 'none', noNewPrivs: 1, seccomp: 'any' }, done: true },
  { role: 'bwrap as the cage\'s first process', is: (p) => isBwrap(p) && p.inCage, target: { uid: 'root', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
  { role: 'cage process', is: (p) => p.inCage && !isBwrap(p), target: { uid: 'the level\'s', caps: 'none', noNewPrivs: 1, seccomp: 2 }, done: true },
];

function mismatches(p: CloisonProcess, t: Target): string[] {
  const out: string[] = [];
  const cloison = journalWriterAccount()?.uid ?? -1;
  // In a cage's row, the X helper too when the reading catches it (setxkbmap, xclip, the resize on a
  // cage's display: a pid namespace of its own, so "in a cage"), under a disposable uid of its range.
  const xHelper = p.uid >= X_HELPER_UIDS.base && p.uid < X_HELPER_UIDS.base + X_HELPER_UIDS.size;
  const uidOk = t.uid === 'root' ? p.uid === 0 : t.uid === 'cloison' ? p.uid === cloison : [LOW_UID, HIGH_UID, LOW_UID + 10, HIGH_UID + 10].includes(p.uid) || xHelper;
  if (!uidOk) out.push(`uid ${p.uid} (want ${t.uid})`);
  const caps = BigInt(`0x${p.capEff}`);
  if (t.caps === 'none' ? caps !== 0n : caps !== MANAGER_MASK) out.push(`CapEff ${p.capEff} (want ${t.caps === 'none' ? 'none' : `the manager's set, ${MANAGER_MASK.toString(16).padStart(16, '0')}`})`);
  if (t.caps === 'manager' && BigInt(`0x${privilegeStatus(p.pid).capBnd}`) !== MANAGER_MASK) out.push(`CapBnd ${privilegeStatus(p.pid).capBnd} (want the manager's set: what it runs can gain no more)`);
  if (p.noNewPrivs !== t.noNewPrivs) out.push(`NoNewPrivs ${p.noNewPrivs} (want ${t.noNewPrivs})`);
  if (t.seccomp !== 'any' && p.seccomp !== t.seccomp) out.push(`Seccomp ${p.seccomp} (want ${t.seccomp})`);
  return out;
}

/** The table's checks on the processes a start left running (its root process's pid given). */
function checkTable(table: Row[], run: () => { rootPid: number; processes: CloisonProcess[] }): void {
  it('every process fills a role of the table', () => {
    const { rootPid, processes } = run();
    const unknown = processes.filter((p) => !table.some((row) => row.is(p, rootPid)));
    expect(unknown.map((p) => `${p.pid} ${p.command}`)).toEqual([]);
  });

  for (const row of table) {
    it(`${row.role}: ${row.target.uid}, ${row.target.caps === 'none' ? 'no capability' : 'the manager\'s capabilities'}, NoNewPrivs ${row.target.noNewPrivs}, Seccomp ${row.target.seccomp}`, (ctx) => {
      const { rootPid, processes } = run();
      const filling = processes.filter((p) => row.is(p, rootPid));
      if (!row.done && filling.length === 0) return skipWithReason(ctx, 'not yet (#29): no such process runs yet');
      expect(filling.length).toBeGreaterThan(0);
      const wrong = filling.flatMap((p) => {
        const m = mismatches(p, row.target);
        return m.length ? [`${p.pid} ${p.command.slice(0, 60)}: ${m.join(', ')}`] : [];
      });
      if (row.done) return expect(wrong).toEqual([]);
      // Not done yet: it must still be untrue (or the table must say done), and today's values are printed.
      expect(wrong, `"${row.role}" is now true: mark its row done`).not.toEqual([]);
      skipWithReason(ctx, `not yet (#29, after the supervisor split): ${wrong.join('; ')}`);
    });
  }
}

describe('privileges of every long-running Cloison process', () => {
  const root = testRoot('cloison-pp-');
  const runDir = join(root, 'run');
  let child: ChildProcess | null = null;
  let processes: CloisonProcess[] = [];

  beforeAll(async () => {
    writeFileSync(join(root, 'p.yaml'), POLICY);
    const run = await runSupervisor(join(root, 'p.yaml'), join(root, 'state'), runDir);
    child = run.child;
    // The autostarted xterm: waited for, not a fixed time (a loaded machine starts it later).
    await waitFor(() => spawnSync('ps', ['-u', String(LOW_UID), '-o', 'comm='], { encoding: 'utf8' }).stdout.includes('xterm'), 'the autostarted xterm', 30_000, 200);
    processes = cloisonProcesses(child.pid!, runDir, ['low', 'high']);
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it('finds the supervisor, both cages\' Xvnc, the process listening for browsers and the sound part', () => {
    expect(processes.some((p) => p.pid === child!.pid)).toBe(true);
    expect(processes.filter(isSoundPart)).toHaveLength(1);
    expect(processes.filter((p) => p.command.startsWith('Xvnc ')).map((p) => p.uid).sort()).toEqual([LOW_UID, HIGH_UID]);
    expect(processes.some((p) => p.listens.length > 0)).toBe(true);
  });

  checkTable(TABLE, () => ({ rootPid: child!.pid!, processes }));
});

describe('privileges of every long-running Cloison process, split (the cage manager and its cloison part)', () => {
  const root = testRoot('cloison-pps-');
  const runDir = join(root, 'run');
  let manager: ChildProcess | null = null;
  let processes: CloisonProcess[] = [];

  beforeAll(async () => {
    chmodSync(root, 0o711); // the part reaches its folders beside the manager's
    writeFileSync(join(root, 'p.yaml'), SPLIT_POLICY);
    manager = spawn(process.execPath, ['out/supervisor/cageManager.js', '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', runDir, '--browser-shell', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'ignore'] });
    // The part's "ready" line (every cage started or failed), relayed by the manager.
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: manager!.stdout! }).on('line', (line) => {
        const said = JSON.parse(line) as { ready?: boolean; partFailed?: boolean; reason?: string };
        if (said.ready) resolve();
        if (said.partFailed) reject(new Error(`the part did not start: ${said.reason}`));
      });
      manager!.once('exit', (code) => reject(new Error(`the manager exited ${code}`)));
    });
    // Cages the manager started have their records in its run folder (none until the part's fleet asks).
    processes = cloisonProcesses(manager.pid!, runDir, ['low', 'high'].filter((level) => existsSync(join(runDir, 'cages', level, 'cage.json'))));
  }, 90_000);

  afterAll(async () => {
    if (manager && manager.exitCode === null) {
      manager.kill('SIGTERM');
      await new Promise((r) => manager!.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }, 90_000);

  it('finds the manager, its cloison part, the process listening for browsers and the sound part', () => {
    expect(processes.some((p) => p.pid === manager!.pid)).toBe(true);
    expect(processes.filter(isCloisonPart)).toHaveLength(1);
    expect(processes.filter(isSoundPart)).toHaveLength(1);
    expect(processes.some((p) => p.listens.length > 0)).toBe(true);
  });

  checkTable(SPLIT_TABLE, () => ({ rootPid: manager!.pid!, processes }));
});
