/**
 * Whether this process's own control group bounds its memory (a limit below the host's memory on
 * its group or an ancestor, v1's memory controller or v2's unified tree: one at or above the RAM, a
 * container's or a unit's, bounds nothing the host would miss). The scanner's fallback asks it: where
 * no group of the scan's own can be made but the part's own group is bounded (the split on a
 * cgroup v2 host), that group already holds the scan's total — the kernel's OOM kill there picks
 * the largest process, a scanner's, not the part — so the scanner may fork. Where nothing bounds
 * it (root without groups), it stays one process (scannerSandbox.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { limitIn } from './conversionCgroup';

export interface CgroupFiles {
  /** /proc/self/cgroup's text. */
  readonly selfCgroup: () => string;
  /** A file under /sys/fs/cgroup, or null if it cannot be read. */
  readonly read: (path: string) => string | null;
}

const HOST_FILES: CgroupFiles = {
  selfCgroup: () => readFileSync('/proc/self/cgroup', 'utf8'),
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
};

/** The host's memory (/proc/meminfo's MemTotal) in bytes, or null if it cannot be read. */
function hostMemory(files: CgroupFiles): number | null {
  const kb = /^MemTotal:\s+(\d+) kB$/m.exec(files.read('/proc/meminfo') ?? '')?.[1];
  return kb ? Number(kb) * 1024 : null;
}

/** A limit below the host's memory: one at or above it (a container's, a unit's) holds nothing back. */
function bounds(text: string | null, memory: number): boolean {
  const limit = text === null || text.trim() === '' ? null : limitIn(text);
  return limit !== null && limit < memory;
}

/** Whether a limit file named `file` bounds in `dir` or any folder above it up to `root`. */
function boundedUpTo(files: CgroupFiles, root: string, dir: string, file: string, memory: number): boolean {
  for (let at = dir; at.startsWith(root); at = dirname(at)) {
    if (bounds(files.read(join(at, file)), memory)) return true;
    if (at === root) break;
  }
  return false;
}

/** Whether a limit below the host's memory holds this process's group (unknown memory: no). */
export function ownGroupBoundsMemory(files: CgroupFiles = HOST_FILES): boolean {
  const memory = hostMemory(files);
  if (memory === null) return false;
  let text: string;
  try {
    text = files.selfCgroup();
  } catch {
    return false;
  }
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, hierarchy, controllers, path] = m;
    if (hierarchy === '0' && controllers === '') {
      if (boundedUpTo(files, '/sys/fs/cgroup', join('/sys/fs/cgroup', path!), 'memory.max', memory)) return true;
    } else if (controllers!.split(',').includes('memory')) {
      const root = '/sys/fs/cgroup/memory';
      if (boundedUpTo(files, root, join(root, path!), 'memory.limit_in_bytes', memory)) return true;
    }
  }
  return false;
}
