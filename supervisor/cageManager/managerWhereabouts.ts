/**
 * Where an administrator's `cloison policy reload` finds the cage manager (#29 review): a policy
 * reload is the administrator's to time, never the part's (a part asking while a save stalls had a
 * cut policy applied), so the command, run as root, signals the manager itself (SIGHUP, as
 * `systemctl reload` does) and reads its verdict in the manager's journal. The manager says which
 * process it is (pid and start time: a pid used again is not taken for it) and where its journal
 * is, in its run folder, root's alone; the command trusts the file only there and only root's.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MANAGER_WHEREABOUTS_FILE = 'cage-manager.json';

export interface ManagerWhereabouts {
  pid: number;
  /** The process's start time (/proc/PID/stat's 22nd field, clock ticks since boot). */
  started: string;
  journal: string;
}

/** A process's start time, or null when there is no such process. */
export function processStartTime(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Written by the manager once it can take a SIGHUP (replaced whole: never seen half written). */
export function writeManagerWhereabouts(runDir: string, journal: string): void {
  const file = join(runDir, MANAGER_WHEREABOUTS_FILE);
  const record: ManagerWhereabouts = { pid: process.pid, started: processStartTime('self') ?? '', journal };
  writeFileSync(`${file}.new`, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  renameSync(`${file}.new`, file);
}

/** Removed by the manager as it stops: a file naming a manager gone would stand in a later root supervisor's way. */
export function removeManagerWhereabouts(runDir: string): void {
  rmSync(join(runDir, MANAGER_WHEREABOUTS_FILE), { force: true });
}

/**
 * The manager that runs from `runDir`, or why there is none: the file must be root's and changeable
 * by root alone (as its folder), and its process still the one that wrote it. `absent`: no manager
 * ever ran there (a root supervisor alone).
 */
export function findManager(runDir: string): { manager: ManagerWhereabouts } | { absent: true } | { problem: string; gone?: true } {
  const file = join(runDir, MANAGER_WHEREABOUTS_FILE);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { absent: true };
    return { problem: `${file}: ${(err as Error).message}` };
  }
  try {
    const folder = statSync(runDir);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || st.mode & 0o022 || folder.uid !== 0 || folder.mode & 0o022) return { problem: `${file} is not root's alone (nor its folder): not trusted to name the cage manager` };
    const buf = Buffer.alloc(4096);
    const record = JSON.parse(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')) as ManagerWhereabouts;
    if (!Number.isInteger(record.pid) || record.pid <= 1 || typeof record.journal !== 'string') return { problem: `${file} does not name a process` };
    if (!record.started || processStartTime(record.pid) !== record.started) return { problem: `the cage manager that wrote ${file} (pid ${record.pid}) no longer runs`, gone: true };
    return { manager: record };
  } catch (err) {
    return { problem: `${file}: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}
