/**
 * An unprivileged part's own control group (made by the cages' code, cages/cageCgroup.ts, which
 * the part's owner passes in: this room sits below the cages'): whatever the
 * part forks — detached, in a session of its own — is in it and is killed with it when the part
 * ends, is stopped or restarted; and it holds its own memory and task limits, so a compromised
 * part that forks or allocates without end exhausts only itself.
 *
 * Named after the part, the root part's pid and a counter, so two supervisors (tests) never take
 * each other's; groups of a root part that is gone (a crash) are emptied and removed at the next
 * start of a part of the same name.
 */
import { accessSync, constants, existsSync, lchownSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface PartLimits {
  memoryBytes: number;
  /** Processes and threads (pids.max): Node's own threads count. */
  tasks: number;
}

/** One control group, as cages/cageCgroup.ts makes it. */
export interface ControlGroup {
  readonly version: 1 | 2;
  /** A command-line prefix that puts the command it runs into the group, then execs it. */
  readonly joinPrefix: string[];
  readonly dirs: string[];
  /** Kills whatever is left in the group, then removes it. */
  remove(): void;
}

/** cages/cageCgroup.ts's createCageCgroup and openCageCgroup. */
export interface ControlGroups {
  create: (name: string, limits: PartLimits & { cpuWeight: number }) => { cgroup: ControlGroup } | { cgroup: null; reason: string };
  open: (version: 1 | 2, dirs: string[]) => ControlGroup | null;
}

/** The cages' default share (cpuWeight 100: cgroup v2's cpu.weight, v1's cpu.shares 1024). */
export const DEFAULT_CPU_WEIGHT = 100;

/** Sets a group's CPU weight (1–10000, cages/cageCgroup.ts's scale) on whichever CPU controller it has; a group without one is left. */
export function setGroupCpuWeight(group: ControlGroup, weight: number): void {
  for (const dir of group.dirs) {
    if (existsSync(join(dir, 'cpu.shares'))) writeFileSync(join(dir, 'cpu.shares'), String(Math.max(2, Math.round((weight * 1024) / 100))));
    else if (existsSync(join(dir, 'cpu.weight'))) writeFileSync(join(dir, 'cpu.weight'), String(weight));
  }
}

let made = 0;

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A fresh group for one start of the part, or null with why (the host has no controller). */
export function createPartCgroup(groups: ControlGroups, part: string, limits: PartLimits): { cgroup: ControlGroup } | { cgroup: null; reason: string } {
  const prefix = `part-${slug(part)}-`;
  const group = groups.create(`${prefix}${process.pid}-${++made}`, { ...limits, cpuWeight: DEFAULT_CPU_WEIGHT });
  if (group.cgroup) removeOrphans(groups, group.cgroup, prefix);
  return group;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Groups of this part left by a root part that is gone: their processes killed, the groups removed. */
function removeOrphans(groups: ControlGroups, current: ControlGroup, prefix: string): void {
  const groupName = (dir: string) => (current.version === 2 ? basename(dir).replace(/^cloison-/, '') : basename(dir));
  const parents = current.dirs.map(dirname);
  let names: string[];
  try {
    names = readdirSync(parents[0]!);
  } catch {
    return;
  }
  for (const entry of names) {
    const name = groupName(join(parents[0]!, entry));
    const owner = new RegExp(`^${prefix}(\\d+)-\\d+$`).exec(name);
    if (!owner || Number(owner[1]) === process.pid || alive(Number(owner[1]))) continue;
    const dirs = parents.map((parent) => join(parent, current.version === 2 ? `cloison-${name}` : name)).filter((dir) => existsSync(dir));
    const orphan = groups.open(current.version, dirs);
    if (orphan) removeWithBelow(groups, orphan);
  }
}

/**
 * A part that starts parts of its own (the cloison part: the sound part) is given its group's
 * folders — never their files: its own limits stay root's — so that it may make groups below it
 * (cgroup v1: the files of a group are its maker's). What it starts there holds its own limits
 * within the part's, and the part's remove kills and removes those groups first (a v1 group's
 * cgroup.procs lists its own processes only, and a group with groups below it is not removed).
 * cgroup v2 is not delegated: moving a process there needs the common parent's cgroup.procs,
 * which stays root's; the part's children then share its group, as without a controller.
 * Nor is a v1 group whose memory limits are not hierarchical (memory.use_hierarchy 0): a part that
 * moved itself into a group it made below would be outside its own memory limit.
 */
export function delegatePartCgroup(groups: ControlGroups, group: ControlGroup, account: { uid: number; gid: number }): ControlGroup {
  if (group.version !== 1) return group;
  if (!group.dirs.every(memoryHierarchical)) return group;
  // lchown: a group folder is never a link, and a link must never be followed to hand a file over.
  for (const dir of group.dirs) lchownSync(dir, account.uid, account.gid);
  return { version: group.version, joinPrefix: group.joinPrefix, dirs: group.dirs, remove: () => removeWithBelow(groups, group) };
}

/** A v1 folder's memory limits hold for the groups below it (or it is no memory group). */
function memoryHierarchical(dir: string): boolean {
  const file = join(dir, 'memory.use_hierarchy');
  return !existsSync(file) || readQuietly(file) === '1';
}

/**
 * The whole tree frozen first (a v1 freezer freezes every group below), every process in it killed,
 * then thawed so the kills land: none of them can fork or move to another group meanwhile. Then
 * the groups below, deepest first, and the part's own are removed.
 */
function removeWithBelow(groups: ControlGroups, group: ControlGroup): void {
  const freezer = group.dirs.find((d) => d.startsWith('/sys/fs/cgroup/freezer/') && existsSync(join(d, 'freezer.state')));
  if (freezer) writeQuietly(join(freezer, 'freezer.state'), 'FROZEN');
  try {
    for (let i = 0; freezer && i < 200 && readQuietly(join(freezer, 'freezer.state')) !== 'FROZEN'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    for (const dir of group.dirs) for (const rel of ['', ...groupsBelow([dir])]) for (const pid of readQuietly(join(dir, rel, 'cgroup.procs')).split('\n').filter(Boolean)) killQuietly(Number(pid));
  } finally {
    if (freezer) writeQuietly(join(freezer, 'freezer.state'), 'THAWED');
  }
  for (let round = 0; round < 3; round++) {
    const below = groupsBelow(group.dirs);
    if (below.length === 0) break;
    for (const rel of below) groups.open(group.version, group.dirs.map((d) => join(d, rel)).filter((d) => existsSync(join(d, 'cgroup.procs'))))?.remove();
  }
  group.remove();
}

/** The paths of the groups below these folders (relative, deepest first), links never followed, however deep. */
function groupsBelow(dirs: string[]): string[] {
  const found = new Set<string>();
  for (const dir of dirs) {
    const todo = [''];
    for (let rel = todo.pop(); rel !== undefined; rel = todo.pop()) {
      let entries;
      try {
        entries = readdirSync(join(dir, rel), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const sub = rel ? join(rel, e.name) : e.name;
        found.add(sub);
        todo.push(sub);
      }
    }
  }
  return [...found].sort((a, b) => b.split('/').length - a.split('/').length);
}

function readQuietly(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function writeQuietly(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch {
    /* the group is gone */
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'freezer'];

/**
 * Whether this unprivileged process may make its children's groups below its own (cgroup v1, its
 * group's folders given to it: delegatePartCgroup): each controller the cages' code uses that the
 * host has, its own folder there writable by it.
 */
export function delegatedToThisProcess(): boolean {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers') || !existsSync('/sys/fs/cgroup/memory') || !existsSync('/sys/fs/cgroup/pids')) return false;
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return false;
  }
  const own = (controller: string) => lines.map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m?.[1]?.split(',').includes(controller))?.[2];
  return V1_CONTROLLERS.filter((c) => c === 'memory' || c === 'pids' || existsSync(join('/sys/fs/cgroup', c, 'cgroup.procs'))).every((c) => {
    const path = own(c);
    if (path === undefined) return false;
    try {
      accessSync(join('/sys/fs/cgroup', c, path), constants.W_OK);
      return true;
    } catch {
      return false;
    }
  });
}
