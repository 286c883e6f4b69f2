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
import { existsSync, readdirSync } from 'node:fs';
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

let made = 0;

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** A fresh group for one start of the part, or null with why (the host has no controller). */
export function createPartCgroup(groups: ControlGroups, part: string, limits: PartLimits): { cgroup: ControlGroup } | { cgroup: null; reason: string } {
  const prefix = `part-${slug(part)}-`;
  const group = groups.create(`${prefix}${process.pid}-${++made}`, { ...limits, cpuWeight: 100 });
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
    groups.open(current.version, dirs)?.remove();
  }
}
