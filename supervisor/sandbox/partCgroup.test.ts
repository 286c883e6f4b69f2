/**
 * A compromised part forks a process of its own, detached in a session of its own (setsid), and
 * exits: the root part starts it again. Before parts had a control group, the sleeper lived on as
 * the part's user after the restart (seen: alive, its parent init). Now the part's group is killed
 * whole when it ends: the sleeper is gone before the part starts again, and the new start runs in
 * a fresh group with the part's memory and task limits. A crashed supervisor's part groups, and
 * what is left in them, go at the part's next start.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { createPartCgroup } from './partCgroup';
import { UnprivilegedPart } from './partProcess';
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';
import { testPartDefinition, type TestPartMessage } from '../testing/testPartDefinition';

type Msg = TestPartMessage;
const LIMITS = { memoryBytes: 192 * 2 ** 20, tasks: 48 };
const parts: Array<UnprivilegedPart<Msg, unknown>> = [];
const sleepers: number[] = [];
afterAll(async () => {
  for (const part of parts) await part.stop();
  for (const pid of sleepers) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function alive(pid: number): boolean {
  try {
    // A zombie is dead: only its parent's wait is missing.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** First start: forks a detached sleeper, says ready, exits. Later starts: say ready and stay. */
function forkingPart(root: string): string {
  const script = join(root, 'part.mjs');
  writeFileSync(script, `import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, writeSync } from 'node:fs';
const send = (v) => { const b = Buffer.from(JSON.stringify(v)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b])); };
const first = !existsSync(${JSON.stringify(join(root, 'sleeper'))});
if (first) {
  const sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  sleeper.unref();
  writeFileSync(${JSON.stringify(join(root, 'sleeper'))}, String(sleeper.pid));
}
send({ type: 'ready' });
writeFileSync(${JSON.stringify(root)} + '/started-' + process.pid, '');
setTimeout(() => process.exit(0), first ? 300 : 60_000);
`);
  return script;
}

/** Forks a bomb in a session of its own (every process forking for ever, at the group's task limit), says ready, stays. */
function bombingPart(root: string, token: string): string {
  const script = join(root, 'bomb.mjs');
  writeFileSync(script, `import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
const send = (v) => { const b = Buffer.from(JSON.stringify(v)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b])); };
spawn('perl', ['-e', '$SIG{CHLD} = "IGNORE"; $0 = "${token}"; fork while 1'], { detached: true, stdio: 'ignore' }).unref();
send({ type: 'ready' });
setInterval(() => undefined, 60_000);
`);
  return script;
}

function processesNamed(token: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(token);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('what a part forks', () => {
  it('a fork bomb at the part\'s task limit ends with the part: no process of it left, no folder of its group', async () => {
    const root = testRoot('cloison-partbomb-');
    const token = `cloison-part-bomb-${process.pid}`;
    const part = new UnprivilegedPart<Msg, unknown>(testPartDefinition(import.meta.url, 'bombing test part', bombingPart(root, token), { limits: LIMITS }));
    parts.push(part);
    try {
      await part.start();
      const dirs = part.cgroupDirs;
      const pidsDir = dirs.find((d) => existsSync(join(d, 'pids.current')))!;
      await waitFor(() => Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8')) >= LIMITS.tasks - 2, 'the bomb at the part\'s task limit', 20_000);
      await part.stop();
      await new Promise((r) => setTimeout(r, 200));
      const survivors = processesNamed(token);
      const left = dirs.filter((d) => existsSync(d));
      console.log(`part's group ${dirs.map((d) => d.split('/')[4]).join(', ')}: survivors ${survivors.length}, folders left ${left.length}`);
      expect(survivors).toEqual([]);
      expect(left).toEqual([]);
    } finally {
      for (const pid of processesNamed(token)) process.kill(pid, 'SIGKILL');
    }
  }, 40_000);

  it('ends with the part, before it is started again; the part runs within its own limits', async () => {
    const root = testRoot('cloison-partcg-');
    const restarts: string[] = [];
    // The script restricts nothing: root, within setpriv's bounds.
    const part = new UnprivilegedPart<Msg, unknown>(testPartDefinition(import.meta.url, 'forking test part', forkingPart(root), { limits: LIMITS, restarting: (reason) => void restarts.push(reason) }));
    parts.push(part);
    await part.start();
    await waitFor(() => existsSync(join(root, 'sleeper')), 'the sleeper forked');
    const sleeper = Number(readFileSync(join(root, 'sleeper'), 'utf8'));
    sleepers.push(sleeper);
    await waitFor(() => restarts.length === 1 && part.ready, 'the part started again', 15_000);
    console.log(`sleeper ${sleeper}: ${alive(sleeper) ? 'alive' : 'gone'} after the restart (${restarts[0]}); the part's group: ${(part.cgroupDirs ?? []).join(', ')}`);
    expect(alive(sleeper)).toBe(false);
    // The new start: in its own group, with the part's limits.
    const dirs = part.cgroupDirs;
    expect(dirs.length).toBeGreaterThan(0);
    const limit = (file: string) => {
      const dir = dirs.find((d) => existsSync(join(d, file)));
      return dir ? readFileSync(join(dir, file), 'utf8').trim() : null;
    };
    expect(limit('pids.max')).toBe(String(LIMITS.tasks));
    expect(limit('memory.max') ?? limit('memory.limit_in_bytes')).toBe(String(LIMITS.memoryBytes));
    const procs = dirs.flatMap((d) => (existsSync(join(d, 'cgroup.procs')) ? readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : []));
    expect(procs).toContain(part.pid);
    await part.stop();
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
  }, 40_000);

  it('a dead supervisor\'s group of the part, and what is left in it, goes at the part\'s next start', async () => {
    const groups = { create: createCageCgroup, open: openCageCgroup };
    // As a supervisor that crashed (a pid no process has) would have left it, a process still in it.
    const orphan = createCageCgroup('part-orphan-test-part-3999999-1', { ...LIMITS, cpuWeight: 100 });
    if (!orphan.cgroup) throw new Error(orphan.reason);
    const left = spawn(orphan.cgroup.joinPrefix[0]!, [...orphan.cgroup.joinPrefix.slice(1), 'sleep', '1000'], { stdio: 'ignore', detached: true });
    sleepers.push(left.pid!);
    await waitFor(() => readFileSync(join(orphan.cgroup!.dirs.at(-1)!, 'cgroup.procs'), 'utf8').includes(String(left.pid)), 'the leftover in the orphan group');
    const mine = createPartCgroup(groups, 'orphan test part', LIMITS);
    try {
      expect(orphan.cgroup.dirs.filter((d) => existsSync(d))).toEqual([]);
      await waitFor(() => !alive(left.pid!), 'the leftover killed');
      expect(mine.cgroup?.dirs.every((d) => existsSync(d))).toBe(true);
    } finally {
      mine.cgroup?.remove();
    }
  });
});

describe('a part\'s start ahead of the cages (startCpuWeight)', () => {
  /** Says ready, then waits for a file before it announces (its browser part listening, for the cloison part). */
  function announcingPart(root: string): string {
    const script = join(root, 'announcing.mjs');
    writeFileSync(script, `import { existsSync, writeSync } from 'node:fs';
const send = (v) => { const b = Buffer.from(JSON.stringify(v)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b])); };
send({ type: 'ready' });
const wait = setInterval(() => { if (existsSync(${JSON.stringify(join(root, 'go'))})) { clearInterval(wait); send({ type: 'announce' }); } }, 20);
setInterval(() => undefined, 60_000);
`);
    return script;
  }
  const shares = (dirs: string[]) => {
    const dir = dirs.find((d) => existsSync(join(d, 'cpu.shares')) || existsSync(join(d, 'cpu.weight')));
    if (!dir) return null;
    return existsSync(join(dir, 'cpu.shares')) ? Number(readFileSync(join(dir, 'cpu.shares'), 'utf8')) / 1024 : Number(readFileSync(join(dir, 'cpu.weight'), 'utf8')) / 100;
  };

  it('holds 4× the cages\' share until it announces, then the cages\' own (a part that never announces does not keep it: the limit is the timer\'s)', async () => {
    const root = testRoot('cloison-partweight-');
    const part = new UnprivilegedPart<Msg, unknown>(testPartDefinition(import.meta.url, 'weighted test part', announcingPart(root), { startCpuWeight: 400, startOver: (m) => m.type === 'announce' }));
    parts.push(part);
    await part.start();
    const dirs = part.cgroupDirs;
    if (shares(dirs) === null) return void console.log('no CPU controller in the part\'s group: nothing to weigh here');
    // Ready, not announced: still ahead.
    expect(shares(dirs)).toBe(4);
    writeFileSync(join(root, 'go'), '');
    await waitFor(() => shares(dirs) === 1, 'the cages\' share once it announced', 15_000);
    await part.stop();
  }, 30_000);
});
