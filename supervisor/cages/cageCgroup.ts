/**
 * A cage's own control group: memory, task and CPU limits from the policy, so a cage that
 * exhausts something exhausts only itself (its processes get ENOMEM/EAGAIN or are OOM-killed
 * inside its group) and the other cage, the supervisor and the shell keep running.
 *
 * cgroup v2 where the host has the unified hierarchy (beside the supervisor's group, not under it:
 * cages outlive the supervisor, see v2Parent);
 * cgroup v1's memory, pids and cpu controllers where it has only those, and its freezer where it
 * is mounted (to kill the group whole, see killAndRemove). The cage joins its group before bwrap
 * runs (a shell writes its own pid, then execs), so no process starts outside it.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

export interface CageLimits {
  memoryBytes: number;
  tasks: number;
  /** 1–10000, 100 the default share (cgroup v2's cpu.weight; v1's cpu.shares scaled). */
  cpuWeight: number;
}

export interface LimitCounters {
  /** Processes the kernel killed for the memory limit since the group was made. */
  oomKills: number;
  /** Times a fork was refused for the task limit. */
  taskLimitHits: number;
}

export interface CageCgroup {
  readonly version: 1 | 2;
  /** A command-line prefix that puts the command it runs into the group, then execs it. */
  readonly joinPrefix: string[];
  /** The group's folders (one per v1 controller, one in v2): what a cage's record keeps. */
  readonly dirs: string[];
  counters(): LimitCounters;
  /** Kills whatever is left in the group, then removes it. */
  remove(): KillReport;
}

/** How a group's kill went: what a test of the kill looks at. */
export interface KillReport {
  /** The group was frozen before its processes were killed (none of them could fork meanwhile). */
  frozen: boolean;
  /** Processes found in the group after the first kill pass: forked while it ran (or missed by it). */
  bornDuringKill: number;
  /** The group's folders were all removed. */
  removed: boolean;
}

/** Makes the group, or returns null (with the reason) where the host offers no controller. */
export function createCageCgroup(name: string, limits: CageLimits): { cgroup: CageCgroup } | { cgroup: null; reason: string } {
  try {
    if (existsSync(join(ROOT, 'cgroup.controllers'))) return { cgroup: createV2(name, limits) };
    if (existsSync(join(ROOT, 'memory')) && existsSync(join(ROOT, 'pids'))) return { cgroup: createV1(name, limits) };
    return { cgroup: null, reason: 'the host has neither cgroup v2 nor the cgroup v1 memory and pids controllers' };
  } catch (err) {
    return { cgroup: null, reason: `cannot make the cage's control group: ${(err as Error).message}` };
  }
}

/** Writes $$ into each file, then execs the rest: `sh -c JOIN sh FILE… -- CMD…`. */
function joinPrefix(procsFiles: string[]): string[] {
  const script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';
  return ['/bin/sh', '-c', script, 'cloison-cgroup-join', ...procsFiles, '--'];
}

/** This process's own group in a v1 controller (or in v2 with controller ''). */
function ownGroup(controller: string): string {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (controller === '' ? controllers === '' : controllers.split(',').includes(controller)) return path;
  }
  return '/';
}

function readCounter(file: string, key: string): number {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Kills every process of the group, then removes its folders. Where the group can be frozen (v1's
 * freezer, v2's cgroup.freeze) it is first: a frozen process cannot fork, so one pass over
 * cgroup.procs kills them all, and the thaw lets the kills land. Without a freezer, a fork bomb at
 * its task limit may refill a slot a pass frees before the pass reaches the forker: nothing bounds
 * it but the kills' speed (never seen to win on a 64- or 400-task bomb: cageCgroupKill.test.ts).
 */
function killAndRemove(dirs: string[], freeze = true): KillReport {
  const freezer = freeze ? freezerOf(dirs) : null;
  const frozen = freezer?.freeze() ?? false;
  const killed = new Set<number>();
  let bornDuringKill = 0;
  try {
    for (let round = 0; round < 50; round++) {
      let left = 0;
      for (const dir of dirs) {
        for (const pid of readProcs(dir)) {
          left++;
          if (round > 0 && !killed.has(pid)) bornDuringKill++;
          killed.add(pid);
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      if (round === 0) freezer?.thaw(); // the kills land as the group thaws
      if (left === 0) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // let the kernel reap them
    }
  } finally {
    freezer?.thaw(); // even when it did not freeze in time: a group left FREEZING would hang what is left
  }
  let removed = true;
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (err) {
      /* still busy or already gone: the next start of the cage removes it */
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') removed = false;
    }
  }
  return { frozen, bornDuringKill, removed };
}

interface Freezer {
  /** True once every process of the group is frozen (waits up to a second). */
  freeze(): boolean;
  thaw(): void;
}

/** The group's freeze switch: v1's freezer folder among its folders, or v2's cgroup.freeze. */
function freezerOf(dirs: string[]): Freezer | null {
  const v1 = dirs.find((d) => d.startsWith(`${join(ROOT, 'freezer')}/`) && existsSync(join(d, 'freezer.state')));
  const v2 = dirs.length === 1 && existsSync(join(dirs[0]!, 'cgroup.freeze')) ? dirs[0]! : null;
  const sw = v1
    ? { file: join(v1, 'freezer.state'), on: 'FROZEN', off: 'THAWED', isFrozen: () => readText(join(v1, 'freezer.state')) === 'FROZEN' }
    : v2
      ? { file: join(v2, 'cgroup.freeze'), on: '1', off: '0', isFrozen: () => /^frozen 1$/m.test(readText(join(v2, 'cgroup.events'))) }
      : null;
  if (!sw) return null;
  return {
    freeze: () => {
      try {
        writeFileSync(sw.file, sw.on);
      } catch {
        return false;
      }
      for (let i = 0; i < 200 && !sw.isFrozen(); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      return sw.isFrozen();
    },
    thaw: () => {
      try {
        writeFileSync(sw.file, sw.off);
      } catch {
        /* the group is gone */
      }
    },
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function readProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Makes the group's folders, after killing and removing what a dead supervisor left in them (together: frozen if one is a freezer). */
function freshGroup(dirs: string[]): void {
  const stale = dirs.filter((dir) => existsSync(dir));
  if (stale.length > 0) killAndRemove(stale);
  for (const dir of dirs) mkdirSync(dir, { recursive: true });
}

function createV1(name: string, limits: CageLimits): CageCgroup {
  const dirOf = (controller: string) => join(ROOT, controller, ownGroup(controller), 'cloison', name);
  const memory = dirOf('memory');
  const pids = dirOf('pids');
  const cpu = existsSync(join(ROOT, 'cpu')) ? dirOf('cpu') : null;
  // Last, so that a record's first two folders stay memory and pids.
  const freezer = existsSync(join(ROOT, 'freezer', 'cgroup.procs')) ? dirOf('freezer') : null;
  freshGroup([memory, pids, ...(cpu ? [cpu] : []), ...(freezer ? [freezer] : [])]);
  writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  // With swap accounting, memory plus swap is held to the same figure: the limit cannot be dodged into swap.
  if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
  writeFileSync(join(pids, 'pids.max'), String(limits.tasks));
  if (cpu) writeFileSync(join(cpu, 'cpu.shares'), String(Math.max(2, Math.round((limits.cpuWeight * 1024) / 100))));
  return v1Group([memory, pids, ...(cpu ? [cpu] : []), ...(freezer ? [freezer] : [])]);
}

function v1Group(dirs: string[]): CageCgroup {
  const [memory, pids] = dirs as [string, string];
  return {
    version: 1,
    joinPrefix: joinPrefix(dirs.map((d) => join(d, 'cgroup.procs'))),
    dirs,
    counters: () => ({ oomKills: readCounter(join(memory, 'memory.oom_control'), 'oom_kill'), taskLimitHits: readCounter(join(pids, 'pids.events'), 'max') }),
    remove: () => killAndRemove(dirs),
  };
}

/** The group of a cage that outlived its supervisor, as its record names it (cageAdoption.ts): nothing is made or killed. */
export function openCageCgroup(version: 1 | 2, dirs: string[]): CageCgroup | null {
  if (!dirs.every((d) => existsSync(join(d, 'cgroup.procs')))) return null;
  return version === 1 ? v1Group(dirs) : v2Group(dirs[0]!);
}

function createV2(name: string, limits: CageLimits): CageCgroup {
  const dir = join(v2Parent(), `cloison-${name}`);
  freshGroup([dir]);
  writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
  if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  writeFileSync(join(dir, 'pids.max'), String(limits.tasks));
  if (existsSync(join(dir, 'cpu.weight'))) writeFileSync(join(dir, 'cpu.weight'), String(limits.cpuWeight));
  return v2Group(dir);
}

function v2Group(dir: string): CageCgroup {
  return {
    version: 2,
    joinPrefix: joinPrefix([join(dir, 'cgroup.procs')]),
    dirs: [dir],
    counters: () => ({ oomKills: readCounter(join(dir, 'memory.events'), 'oom_kill'), taskLimitHits: readCounter(join(dir, 'pids.events'), 'max') }),
    remove: () => {
      let killedWhole = false;
      if (existsSync(join(dir, 'cgroup.kill'))) {
        try {
          writeFileSync(join(dir, 'cgroup.kill'), '1');
          killedWhole = true;
        } catch {
          /* fall back to freezing, then killing one by one */
        }
      }
      return killAndRemove([dir], !killedWhole);
    },
  };
}

/**
 * Where the cages' v2 groups go: a `cloison` group at the root of the hierarchy, which root may
 * always make — never under the supervisor's own (its systemd unit's) group, so stopping or
 * restarting the supervisor's unit neither kills the cages nor finds its group busy with them:
 * cages outlive the supervisor and are re-adopted (cageAdoption.ts).
 */
function v2Parent(): string {
  const base = join(ROOT, 'cloison');
  mkdirSync(base, { recursive: true });
  enableControllers(ROOT);
  enableControllers(base);
  return base;
}

const WANTED = ['memory', 'pids', 'cpu'];

/**
 * A v2 group with processes of its own cannot hand controllers to children ("no internal
 * processes"): the supervisor's processes move to a leaf `supervisor` first, as systemd's
 * delegation expects. The root group is exempt.
 */
function enableControllers(group: string): void {
  const offered = readFileSync(join(group, 'cgroup.controllers'), 'utf8').split(/\s+/);
  const wanted = WANTED.filter((c) => offered.includes(c));
  if (!wanted.includes('memory') || !wanted.includes('pids')) throw new Error(`the control group ${group} offers no memory and pids controllers`);
  const enable = () => writeFileSync(join(group, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  try {
    enable();
  } catch {
    if (group === ROOT) throw new Error('cannot enable the memory and pids controllers at the root of the cgroup hierarchy');
    const leaf = join(group, 'supervisor');
    mkdirSync(leaf, { recursive: true });
    for (const pid of readProcs(group)) writeFileSync(join(leaf, 'cgroup.procs'), String(pid));
    enable();
  }
}
