/**
 * A control group of its own for one file sandbox (the converter's, the OCR's, the scanner's) when
 * they run in the `cloison` part (#29): without it, what a hostile document makes LibreOffice or
 * tesseract allocate (or fork) is charged to the part's own group, which holds every broker, the
 * gateway and the journal. Made below the part's group, given to it at its start
 * (sandbox/partCgroup.ts delegatePartCgroup, as the sound part's), with its own memory and task
 * limits; the sandbox joins it before bwrap runs (the group's joinPrefix) and it is killed and
 * removed with the sandbox's end.
 *
 * Every sandbox's group sits in one group of the sandboxes (`cloison/sandboxes` below the part's),
 * which holds the part's own limits less what the part keeps for itself: two documents at once
 * cannot together take the part's memory or tasks (v1's charges are hierarchical: a kill for the
 * sandboxes' limit chooses among the sandboxes only). One sandbox's memory is the policy's
 * converter memory, within that.
 *
 * Root (the supervisor in one piece): the scanner, the converter and the OCR ask for one as root too
 * (`asRootToo`): a group of its own with the same limits, beside the cages' (no common group of the
 * sandboxes: root's own limits are none). Without it their prlimit held each process, not the
 * sandbox: a renderer taken over held its children's memory and its tmpfs files beside its own
 * (converterTotalAsRoot.attack.test.ts, attack-10).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCageCgroup, type CageCgroup } from '../cages/cageCgroup';
import { delegatedToThisProcess } from '../sandbox/partCgroup';
import { rootless } from './sandboxUser';

/** What the part keeps for itself of its own memory limit, whatever its sandboxes take. */
const PART_RESERVE_BYTES = 256 * 2 ** 20;
/** What the part keeps of its own task limit (its threads, the sound part it starts). */
const PART_RESERVE_TASKS = 96;
/** bwrap's own processes outside the sandboxed command, which the group counts too. */
const BWRAP_TASKS = 4;
/** The sandboxes' common group, below the part's `cloison` folder (cages/cageCgroup.ts's). */
const SANDBOXES = 'sandboxes';

export interface ConversionGroup {
  /** Runs the sandbox's bwrap inside the group (bwrapSpawn's prefix). */
  readonly prefix: string[];
  /** Whether the kernel killed a process of the group for its memory limit. */
  outOfMemory(): boolean;
  /** Whether a fork was refused for the group's task limit. */
  outOfTasks(): boolean;
  /** Kills whatever is left in it, then removes it: the sandbox's end. */
  remove(): void;
}

let made = 0;
let sandboxes: { memoryBytes: number } | null = null;

/** This process's own v1 group folder of a controller, or null. */
function ownDir(controller: string): string | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m?.[1]?.split(',').includes(controller));
    return line ? join('/sys/fs/cgroup', controller, line[2]!) : null;
  } catch {
    return null;
  }
}

/** A limit file's number; null for none ('max', or too large to be one). */
function limitOf(file: string): number | null {
  return limitIn(readFileSync(file, 'utf8'));
}

/** A limit file's text as a number; null for none ('max', v1's near-2^63 "unlimited", or not a number). */
export function limitIn(text: string): number | null {
  const trimmed = text.trim();
  const n = Number(trimmed);
  return trimmed === 'max' || !Number.isFinite(n) || n >= 2 ** 62 ? null : n;
}

/** What the sandboxes together may take of the part's limits. */
export function sandboxesShare(part: { memoryBytes: number | null; tasks: number | null }): { memoryBytes: number | null; tasks: number | null } {
  return {
    memoryBytes: part.memoryBytes === null ? null : Math.max(32 * 2 ** 20, part.memoryBytes - PART_RESERVE_BYTES),
    tasks: part.tasks === null ? null : Math.max(16, part.tasks - PART_RESERVE_TASKS),
  };
}

/** The sandboxes' common group, made once with its limits; its memory limit (the policy's cap). */
function sandboxesGroup(): { memoryBytes: number } {
  if (sandboxes) return sandboxes;
  const memory = ownDir('memory');
  const pids = ownDir('pids');
  if (!memory || !pids) throw new Error('the part has no memory or pids group of its own');
  const share = sandboxesShare({ memoryBytes: limitOf(join(memory, 'memory.limit_in_bytes')), tasks: limitOf(join(pids, 'pids.max')) });
  const memoryDir = join(memory, 'cloison', SANDBOXES);
  const pidsDir = join(pids, 'cloison', SANDBOXES);
  mkdirSync(memoryDir, { recursive: true });
  mkdirSync(pidsDir, { recursive: true });
  if (share.memoryBytes !== null) {
    writeFileSync(join(memoryDir, 'memory.limit_in_bytes'), String(share.memoryBytes));
    if (existsSync(join(memoryDir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(memoryDir, 'memory.memsw.limit_in_bytes'), String(share.memoryBytes));
  }
  if (share.tasks !== null) writeFileSync(join(pidsDir, 'pids.max'), String(share.tasks));
  sandboxes = { memoryBytes: share.memoryBytes ?? Number.MAX_SAFE_INTEGER };
  return sandboxes;
}

/**
 * A fresh group for one sandbox, or null where there is none to make: as root (the single
 * supervisor), or a part whose group was not given to it (cgroup v2, no controller).
 */
export function conversionGroup(what: string, limits: { memoryBytes: number; tasks: number | null }, log?: (msg: string, fields?: Record<string, unknown>) => void, options: { asRootToo?: boolean } = {}): ConversionGroup | null {
  if (!rootless() && !options.asRootToo) return null;
  if (rootless() && !delegatedToThisProcess()) return null;
  let cap = Number.MAX_SAFE_INTEGER;
  try {
    if (rootless()) cap = sandboxesGroup().memoryBytes;
  } catch (err) {
    log?.(`${what}: no group of the sandboxes, it shares the part's`, { reason: (err as Error).message });
    return null;
  }
  const memoryBytes = Math.min(limits.memoryBytes, cap);
  const tasks = (limits.tasks ?? 64) + BWRAP_TASKS;
  const result = createCageCgroup(`${SANDBOXES}/${what}-${process.pid}-${++made}`, { memoryBytes, tasks, cpuWeight: 100 });
  if (!result.cgroup) {
    log?.(`${what}: no control group of its own, it shares the part's`, { reason: result.reason });
    return null;
  }
  const group: CageCgroup = result.cgroup;
  let removed = false;
  return {
    prefix: group.joinPrefix,
    outOfMemory: () => group.counters().oomKills > 0,
    outOfTasks: () => group.counters().taskLimitHits > 0,
    remove: () => {
      if (removed) return;
      removed = true;
      group.remove();
    },
  };
}
