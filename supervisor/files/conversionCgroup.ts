/**
 * A control group of its own for one file sandbox (the converter's, the OCR's, the scanner's) when
 * they run in the `cloison` part (#29): without it, what a hostile document makes LibreOffice or
 * tesseract allocate (or fork) is charged to the part's own group, which holds every broker, the
 * gateway and the journal. Made below the part's group, given to it at its start
 * (sandbox/partCgroup.ts delegatePartCgroup, as the sound part's), with its own memory and task
 * limits; the sandbox joins it before bwrap runs (the group's joinPrefix) and it is killed and
 * removed with the sandbox's end.
 *
 * Its memory is the policy's converter memory, but never more than the part's own limit less what
 * the part keeps for itself: the group's charges count in the part's (v1, hierarchical), so a
 * sandbox at its limit is killed inside its group before the part's own limit is reached.
 *
 * Root (the supervisor in one piece): none; each sandbox keeps its uid's limits, as before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCageCgroup, type CageCgroup } from '../cages/cageCgroup';
import { delegatedToThisProcess } from '../sandbox/partCgroup';
import { rootless } from './sandboxUser';

/** What the part keeps for itself of its own memory limit, whatever its sandboxes take. */
const PART_RESERVE_BYTES = 256 * 2 ** 20;
/** bwrap's own processes outside the sandboxed command, which the group counts too. */
const BWRAP_TASKS = 4;

export interface ConversionGroup {
  /** Runs the sandbox's bwrap inside the group (bwrapSpawn's prefix). */
  readonly prefix: string[];
  /** Whether the kernel killed a process of the group for its memory limit. */
  outOfMemory(): boolean;
  /** Kills whatever is left in it, then removes it: the sandbox's end. */
  remove(): void;
}

let made = 0;

/** The part's own v1 memory limit, or null (none readable). */
function partMemoryLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m?.[1]?.split(',').includes('memory'));
    if (!line) return null;
    const limit = Number(readFileSync(join('/sys/fs/cgroup/memory', line[2]!, 'memory.limit_in_bytes'), 'utf8').trim());
    return Number.isFinite(limit) ? limit : null;
  } catch {
    return null;
  }
}

/** The memory one sandbox may hold: the policy's, within what the part's limit leaves. */
export function conversionMemory(policyBytes: number, partLimit: number | null): number {
  if (partLimit === null) return policyBytes;
  return Math.max(32 * 2 ** 20, Math.min(policyBytes, partLimit - PART_RESERVE_BYTES));
}

/**
 * A fresh group for one sandbox, or null where there is none to make: as root (the single
 * supervisor), or a part whose group was not given to it (cgroup v2, no controller).
 */
export function conversionGroup(what: string, limits: { memoryBytes: number; tasks: number | null }, log?: (msg: string, fields?: Record<string, unknown>) => void): ConversionGroup | null {
  if (!rootless() || !delegatedToThisProcess()) return null;
  const memoryBytes = conversionMemory(limits.memoryBytes, partMemoryLimit());
  const tasks = (limits.tasks ?? 64) + BWRAP_TASKS;
  const result = createCageCgroup(`${what}-${process.pid}-${++made}`, { memoryBytes, tasks, cpuWeight: 100 });
  if (!result.cgroup) {
    log?.(`${what}: no control group of its own, it shares the part's`, { reason: result.reason });
    return null;
  }
  const group: CageCgroup = result.cgroup;
  let removed = false;
  return {
    prefix: group.joinPrefix,
    outOfMemory: () => group.counters().oomKills > 0,
    remove: () => {
      if (removed) return;
      removed = true;
      group.remove();
    },
  };
}
