// The shell's Chromium in a memory control group of its own, kept from one start to the next, and
// its cold file pages given back once the start has settled (issue #26, bench/RESULTS.md memory-10).
//
// Half the trusted side's PSS was the `chromium` program file's clean pages, which the shell's
// processes barely touch after their start; nothing reclaims them on a machine with free memory,
// and process_madvise(MADV_PAGEOUT) skips every page more than one process maps. A memory cgroup's
// reclaim takes a page back whoever maps it (a hot page faults back in from the page cache's file) —
// but only the pages charged to that group, and a page-cache page stays charged to the group of the
// process that first read it. Hence a group that persists: the shell's Chromium always runs in it,
// so the pages it read at an earlier start are still its own at the next one.
//
// cgroup v1 (memory controller): <npm start's own memory group>/cloison/shell, as the cages' v1
// groups; the trim writes memory.force_empty (reclaims what it can, the group's processes keep
// running; memory.swappiness 0 first, so the shell's anonymous memory is never pushed to swap).
// cgroup v2: /sys/fs/cgroup/cloison/shell, beside the cages' groups; the trim writes the group's
// file bytes to memory.reclaim with swappiness=0 (a kernel without that key: no trim, said).
//
// The group and its files are root's, its folder 0755: the shell's user can neither move its
// processes out (that needs write access to another group's cgroup.procs) nor change its limits.
// An existing group someone else owns, or that others may write, is refused (no group, no trim).
//
// CLOISON_SHELL_TRIM=0 turns the trim off (the group is still made): for measurements only.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How long after the supervisor's "ready" line the trim runs: the viewers have connected and drawn by then. */
export const SHELL_TRIM_AFTER_MS = 15_000;

const CGROUP_ROOT = '/sys/fs/cgroup';

/** This process's group in a v1 controller, or its v2 group (controller ''). */
export function ownGroupPath(controller, procCgroup = readFileSync('/proc/self/cgroup', 'utf8')) {
  for (const line of procCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (controller === '' ? m[1] === '' : m[1].split(',').includes(controller)) return m[2];
  }
  return '/';
}

/** Why the group's folder cannot be trusted (someone but root owns it or may write it), or null. */
export function groupOwnershipProblem(dir) {
  const owned = (path) => {
    const st = lstatSync(path);
    if (st.uid !== 0) return `${path} is owned by uid ${st.uid}, not root`;
    if ((st.mode & 0o022) !== 0) return `${path} may be written by others than root (mode ${(st.mode & 0o777).toString(8)})`;
    return null;
  };
  const problem = owned(dir);
  if (problem) return problem;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) return `${path}: the group has a child group`;
    const fileProblem = owned(path);
    if (fileProblem) return fileProblem;
  }
  return null;
}

/** The group's memory counters (bytes): its file pages, those mapped, its anonymous memory. */
export function groupMemory(version, dir) {
  const text = readFileSync(join(dir, 'memory.stat'), 'utf8');
  const get = (key) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return version === 1 ? { file: get('cache'), mappedFile: get('mapped_file'), anon: get('rss') } : { file: get('file'), mappedFile: get('file_mapped'), anon: get('anon') };
}

/**
 * Makes (or opens, as a previous start left it) the shell's group. `{ group }`, or `{ group: null,
 * reason }` when the host offers no memory controller, we are not root, or the group is not only
 * root's. `root` and `procCgroup` are for tests.
 */
export function openShellMemoryGroup({ root = CGROUP_ROOT, procCgroup, name = 'shell' } = {}) {
  try {
    if (process.getuid?.() !== 0) return { group: null, reason: 'not root: the shell runs in the group npm start runs in' };
    let version;
    let dir;
    if (existsSync(join(root, 'cgroup.controllers'))) {
      version = 2;
      const base = join(root, 'cloison');
      mkdirSync(base, { recursive: true, mode: 0o755 });
      for (const group of [root, base]) {
        const offered = readFileSync(join(group, 'cgroup.controllers'), 'utf8').split(/\s+/);
        if (!offered.includes('memory')) return { group: null, reason: `the control group ${group} offers no memory controller` };
        if (!readFileSync(join(group, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('memory')) writeFileSync(join(group, 'cgroup.subtree_control'), '+memory');
      }
      dir = join(base, name);
    } else if (existsSync(join(root, 'memory', 'memory.stat'))) {
      version = 1;
      dir = join(root, 'memory', ownGroupPath('memory', procCgroup ?? readFileSync('/proc/self/cgroup', 'utf8')), 'cloison', name);
    } else {
      return { group: null, reason: 'the host has no memory control group controller' };
    }
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const problem = groupOwnershipProblem(dir);
    if (problem) return { group: null, reason: `the shell's memory group is not only root's: ${problem}` };
    // v1: the group's reclaim never swaps its anonymous memory out (the trim is for file pages).
    if (version === 1) writeFileSync(join(dir, 'memory.swappiness'), '0');
    return { group: shellGroup(version, dir) };
  } catch (err) {
    return { group: null, reason: `cannot make the shell's memory group: ${err.message}` };
  }
}

function shellGroup(version, dir) {
  return {
    version,
    dir,
    /**
     * argv run in the group: a shell writes its own pid into cgroup.procs, then execs argv (same
     * pid). A failed write (the group removed meanwhile) does not keep the shell from starting.
     */
    wrap(argv) {
      return ['/bin/sh', '-c', 'echo $$ 2>/dev/null > "$1"; shift; exec "$@"', 'cloison-shell-group', join(dir, 'cgroup.procs'), ...argv];
    },
    memory: () => groupMemory(version, dir),
    /**
     * Gives the group's file pages back (what it can: hot pages fault back in from their file).
     * Off the event loop (a threadpool write: v1's force_empty takes ~0.5–1.5 s of kernel time).
     */
    async trim() {
      const before = groupMemory(version, dir);
      const t0 = performance.now();
      if (version === 1) await writeFile(join(dir, 'memory.force_empty'), '0');
      else {
        try {
          await writeFile(join(dir, 'memory.reclaim'), `${before.file} swappiness=0`);
        } catch (err) {
          // EAGAIN: less than asked could be reclaimed (the hot pages): what was, was.
          if (err.code !== 'EAGAIN') throw err;
        }
      }
      return { before, after: groupMemory(version, dir), ms: performance.now() - t0 };
    },
    /** The trim SHELL_TRIM_AFTER_MS from now, unless CLOISON_SHELL_TRIM=0; a failed one is said through `say`. */
    trimLater(say, env = process.env) {
      if (!shellTrimWanted(env)) return;
      setTimeout(() => void this.trim().catch((err) => say(`the shell's memory was not trimmed: ${err.message}`)), SHELL_TRIM_AFTER_MS).unref();
    },
  };
}

/** Whether the trim runs (CLOISON_SHELL_TRIM=0: measurements only). */
export function shellTrimWanted(env = process.env) {
  return env.CLOISON_SHELL_TRIM !== '0';
}
