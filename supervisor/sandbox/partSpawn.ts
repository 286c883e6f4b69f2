/**
 * A part's process spawned, and nothing more (partProcess.ts wires it: its channel, its stderr,
 * its readiness): under setpriv as root (unprivilegedPart.ts), in a control group of its own when
 * one can be made here (partCgroup.ts), its start in its environment, its channel's ends as fds 3,
 * 4 and 5. Apart so that a part may be spawned before its owner exists (EarlyPart: the cloison
 * part's browser part, #29); what it sends meanwhile waits in its channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import { createPartCgroup, delegatedToThisProcess, delegatePartCgroup, type ControlGroup, type ControlGroups, type PartLimits } from './partCgroup';
import { pipe } from './descriptorPassing';
import { partChannelDescriptors, type RootEnds } from './partChannel';
import { PART_NODE_ENV, unprivilegedPartCommand } from './unprivilegedPart';

/** How a part is spawned (PartDefinition's own fields, partProcess.ts). */
export interface PartSpawnSpec {
  /** "browser part", "sound part": in logs and errors. */
  name: string;
  /** nodeFlags: PART_NODE_FLAGS unless said (unprivilegedPart.ts). */
  command: { callerUrl: string; source: string; bundle: string; script?: string; nodeFlags?: readonly string[] };
  /** The environment variable its start is given in (JSON), and that start, built for each start. */
  startEnv: string;
  /** Who it becomes when started by root (the `cloison` user), or null if that user is missing. */
  account: () => { uid: number; gid: number } | null;
  start: (account: { uid: number; gid: number } | null) => unknown;
  lang: string;
  /** Its control group's limits (as root: the group holds it and all it forks), made by the cages' code. */
  limits: PartLimits;
  controlGroups: ControlGroups;
  /** As root: its group's folders are given to its account, so the parts it starts itself get groups of their own below it (partCgroup.ts delegatePartCgroup). */
  delegate?: boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** A part's process as spawned: the root ends of its channel and of its stderr are read by whoever takes it. */
export interface SpawnedPart {
  child: ChildProcess;
  rootEnds: RootEnds;
  /** The read end of its stderr (a pipe of ours). */
  errorEnd: number;
  cgroup: ControlGroup | null;
}

/** Spawns the part; throws (and leaves nothing open) if it cannot. */
export function spawnPartProcess(spec: PartSpawnSpec): SpawnedPart {
  const { name } = spec;
  const root = process.getuid?.() === 0;
  const account = root ? spec.account() : null;
  if (root && !account) throw new Error(`the system user "cloison" is missing (scripts/setup.sh and the package make it): the ${name} does not run as root`);
  const { command, args } = unprivilegedPartCommand(spec.command, root);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: spec.lang, ...PART_NODE_ENV, [spec.startEnv]: JSON.stringify(spec.start(account)) };
  const ends = partChannelDescriptors();
  // Its stderr a pipe of ours, not stdio 'pipe' (a Unix socketpair: a descriptor attached there
  // would be closed in the root part's thread, as on fd 3, see partChannel.ts).
  let errorEnds: [number, number] | null = null;
  let cgroup: ControlGroup | null = null;
  try {
    errorEnds = pipe();
    // Not root: a group of its own only below a parent's group given to us (the cloison part's); else it shares ours.
    cgroup = root || delegatedToThisProcess() ? partControlGroup(spec, account) : null;
    const argv = [...(cgroup?.joinPrefix ?? []), command, ...args];
    // A process group of its own: a terminal's Ctrl+C or a group's SIGTERM is for the root part,
    // which stops it (stop()); the root part gone, its channel closes and it ends.
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'ignore', errorEnds[1], ...ends.partStdio], env });
    return { child, rootEnds: ends.rootEnds, errorEnd: errorEnds[0], cgroup };
  } catch (err) {
    ends.closeRootEnds();
    if (errorEnds) closeSync(errorEnds[0]);
    cgroup?.remove();
    throw err;
  } finally {
    ends.closePartEnds();
    if (errorEnds) closeSync(errorEnds[1]);
  }
}

/** This start's control group; null, and logged, where the host has none. */
function partControlGroup(spec: PartSpawnSpec, account: { uid: number; gid: number } | null): ControlGroup | null {
  const made = createPartCgroup(spec.controlGroups, spec.name, spec.limits);
  if (!made.cgroup) {
    spec.log?.(`${spec.name}: no control group of its own, what it forks may outlive it`, { reason: made.reason });
    return null;
  }
  if (!spec.delegate || !account) return made.cgroup;
  try {
    return delegatePartCgroup(spec.controlGroups, made.cgroup, account);
  } catch (err) {
    // Its own group and limits stay; the parts it starts share them.
    spec.log?.(`${spec.name}: its control group not given to it, the parts it starts share them`, { reason: (err as Error).message });
    return made.cgroup;
  }
}

/**
 * A part spawned before its owner (partProcess.ts's UnprivilegedPart) exists, so that its Node
 * start and module loading run beside the owner's own start; the owner's first start takes it
 * (`early`). Taken once; one that ended meanwhile is not taken (the owner spawns another).
 */
export class EarlyPart {
  private spawned: SpawnedPart | null;

  constructor(spec: PartSpawnSpec) {
    this.spawned = spawnPartProcess(spec);
  }

  /** Its pid until taken or discarded (tests). */
  get pid(): number | null {
    return this.spawned?.child.pid ?? null;
  }

  /** The process, if it still runs; else null, and what was left of it closed. */
  take(): SpawnedPart | null {
    const spawned = this.spawned;
    this.spawned = null;
    if (!spawned) return null;
    if (spawned.child.exitCode === null && spawned.child.signalCode === null) return spawned;
    closeSpawned(spawned);
    return null;
  }

  /** Not to be taken (its owner never started): ended, its ends closed, its group removed. */
  discard(): void {
    const spawned = this.spawned;
    this.spawned = null;
    if (!spawned) return;
    spawned.child.kill('SIGKILL');
    closeSpawned(spawned);
  }
}

function closeSpawned(spawned: SpawnedPart): void {
  for (const fd of [spawned.rootEnds.fromPart, spawned.rootEnds.toPart, spawned.rootEnds.descriptors, spawned.errorEnd]) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
  spawned.cgroup?.remove();
}
