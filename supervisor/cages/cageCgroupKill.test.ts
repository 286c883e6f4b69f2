/**
 * A fork bomb held at its group's task limit (its processes reap their children at once, so a
 * killed one frees its slot as it exits), then the group killed (a cage stopped, a part ended).
 * Killing pid by pid from cgroup.procs races the bomb: a slot a kill frees can be filled by a
 * process the pass has not reached yet. Never seen to win on this host before the freezer (cgroup
 * v1; 64 and 400 tasks, 20 runs: nothing born during the kill, no survivor — a pass of kill(2) is
 * faster than the killed processes' exit), but nothing bounded it either. Now the group is frozen
 * first (a frozen process cannot fork): the property holds by construction, and this checks it:
 * nothing born during the kill, no process of the bomb left, no folder of the group left.
 *
 * Watched from outside: a worker thread reads the group's cgroup.procs for as long as the
 * (synchronous) kill runs, and every pid it sees that was not in the group before is one the bomb
 * forked during the kill.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../testing/waitFor';
import { createCageCgroup } from './cageCgroup';

const TOKEN = `cloison-bomb-${process.pid}`;
const TASKS = 64;
const leftDirs: string[] = [];

/** Processes of the bomb still alive anywhere (their command line starts with the token). */
function bombProcesses(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(TOKEN);
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(async () => {
  for (const pid of bombProcesses()) process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  for (const dir of leftDirs) if (existsSync(dir)) rmdirSync(dir);
});

const readProcs = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);

/** Reads `procsFile` without pause from the moment flag[1] is set until flag[0] is: every pid it saw. */
const WATCHER = `
const { workerData, parentPort } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const flag = new Int32Array(workerData.flag);
const seen = new Set();
Atomics.store(flag, 2, 1);
while (Atomics.load(flag, 1) === 0) {}
while (Atomics.load(flag, 0) === 0) {
  try { for (const p of readFileSync(workerData.procs, 'utf8').split('\\n')) if (p) seen.add(Number(p)); } catch {}
}
parentPort.postMessage([...seen]);
`;

describe('killing a fork bomb\'s control group', () => {
  for (const run of [1, 2, 3]) {
    it(`leaves no process of the bomb, nothing born during the kill, no folder (run ${run})`, async () => {
      const made = createCageCgroup(`bombtest-${process.pid}-${run}`, { memoryBytes: 256 * 2 ** 20, tasks: TASKS, cpuWeight: 100 });
      if (!made.cgroup) throw new Error(made.reason);
      const group = made.cgroup;
      leftDirs.push(...group.dirs);
      // Where the host mounts v1's freezer, the group is in it: what its record names, what re-adoption finds.
      if (group.version === 1 && existsSync('/sys/fs/cgroup/freezer/cgroup.procs')) expect(group.dirs.some((d) => d.startsWith('/sys/fs/cgroup/freezer/'))).toBe(true);
      const pidsDir = group.dirs.find((d) => existsSync(join(d, 'pids.current')))!;
      // Every process forks for ever, failures included: the group stays at its task limit.
      const bomb = spawn(group.joinPrefix[0]!, [...group.joinPrefix.slice(1), 'perl', '-e', `$SIG{CHLD} = "IGNORE"; $0 = "${TOKEN}"; fork while 1`], { stdio: 'ignore', detached: true });
      bomb.unref();
      await waitFor(() => Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8')) >= TASKS - 2, 'the bomb at its task limit', 20_000);

      const flag = new Int32Array(new SharedArrayBuffer(12));
      const watcher = new Worker(WATCHER, { eval: true, workerData: { flag: flag.buffer, procs: join(pidsDir, 'cgroup.procs') } });
      const seen = new Promise<number[]>((resolve) => watcher.once('message', resolve));
      await waitFor(() => Atomics.load(flag, 2) === 1, 'the watcher running');
      const before = new Set(readProcs(join(pidsDir, 'cgroup.procs')));
      Atomics.store(flag, 1, 1);
      group.remove();
      Atomics.store(flag, 0, 1);
      const seenPids = await seen;
      const born = seenPids.filter((pid) => !before.has(pid));
      await watcher.terminate();

      await new Promise((r) => setTimeout(r, 200));
      const survivors = bombProcesses();
      const leftBehind = group.dirs.filter((d) => existsSync(d));
      console.log(`run ${run}: ${before.size} in the group (cgroup v${group.version}, ${group.dirs.map((d) => d.split('/')[4]).join(', ')}); watched ${seenPids.length}, born during the kill ${born.length}; survivors ${survivors.length}; folders left ${leftBehind.length}`);
      expect(born).toEqual([]);
      expect(survivors).toEqual([]);
      expect(leftBehind).toEqual([]);
    }, 40_000);
  }
});
