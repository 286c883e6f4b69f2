/**
 * What the supervisor keeps about a running bwrap cage so that a later supervisor (after a crash,
 * a restart, an upgrade) can find it again: a root-only file in the cage's run folder.
 *
 * Trust: the record is root's (0600 in a 0700 folder), never the cage's; it is a claim to check,
 * not a fact — every process it names is named with its start time (/proc/PID/stat, field 22), so
 * a pid reused by another process never passes for the cage's (cageAdoption.ts checks it all).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bumped whenever a running cage of the older format could not be driven the same way. */
export const CAGE_RECORD_VERSION = 2;

/** A process as the kernel knows it: its pid and its start time in clock ticks since boot. */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export interface CageRecord {
  version: number;
  level: string;
  uid: number;
  /** sha256 of what the cage was started from (its policy entry, uid, sound): a change restarts it. */
  fingerprint: string;
  /** bwrap itself (the supervisor's child), the sandbox's first process, the cage's Xvnc. */
  bwrap: ProcessIdentity;
  inner: ProcessIdentity;
  xvnc: ProcessIdentity;
  /** The sandbox's pid namespace ("pid:[…]"). */
  pidNamespace: string;
  cgroup: { version: 1 | 2; dirs: string[] } | null;
  /** slirp4netns of a `nat` cage: outlives the supervisor in the cage's group. */
  slirp: ProcessIdentity | null;
  /** The cage's launcher (cageLauncherInCage.mjs): the one process that may connect as it again. */
  launcher: ProcessIdentity | null;
  /** A WireGuard cage's tunnel once open: its interface (in the cage) and wireguard-go, if that runs it. */
  tunnel?: { ifname: string; kind: 'kernel' | 'wireguard-go'; go: ProcessIdentity | null } | null;
  sound: { out: string; mic: string | null } | null;
  startedAt: string;
}

export function cageRecordFile(runFolder: string): string {
  return join(runFolder, 'cage.json');
}

/** Written whole or not at all (a supervisor killed mid-write leaves the old record or none). */
export function writeCageRecord(runFolder: string, record: CageRecord): void {
  const file = cageRecordFile(runFolder);
  writeFileSync(`${file}.new`, JSON.stringify(record), { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

/** The record, or null when there is none; a record that does not parse is a reason to refuse. */
export function readCageRecord(runFolder: string): CageRecord | { unreadable: string } | null {
  let text: string;
  try {
    text = readFileSync(cageRecordFile(runFolder), 'utf8');
  } catch {
    return null;
  }
  try {
    const record = JSON.parse(text) as CageRecord;
    if (typeof record !== 'object' || record === null || typeof record.version !== 'number') return { unreadable: 'its record is not a cage record' };
    return record;
  } catch {
    return { unreadable: 'its record does not parse' };
  }
}

/** Adds to the record of a running cage what became known after it was written (nothing if there is none). */
export function updateCageRecord(runFolder: string, patch: Partial<CageRecord>): void {
  const record = readCageRecord(runFolder);
  if (record && !('unreadable' in record)) writeCageRecord(runFolder, { ...record, ...patch });
}

export function removeCageRecord(runFolder: string): void {
  rmSync(cageRecordFile(runFolder), { force: true });
}

export function cageFingerprint(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex');
}

/** The process now at `pid`, or null once it has gone (a zombie has gone too). */
export function processIdentity(pid: number): ProcessIdentity | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const startTime = fields[22 - 3];
    return startTime ? { pid, startTime } : null;
  } catch {
    return null;
  }
}

/** True while `id` still names the very process it named (same pid, same start time). */
export function isSameProcess(id: ProcessIdentity): boolean {
  return processIdentity(id.pid)?.startTime === id.startTime;
}

/** The real uid a process runs as (/proc/PID/status), or null once it has gone. */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The cgroup folders a process is in, per v1 controller line or the v2 line, as absolute paths. */
export function processCgroupPaths(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .map((line) => /^\d+:([^:]*):(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .flatMap(([, controllers, path]) => (controllers === '' ? [join('/sys/fs/cgroup', path!)] : controllers!.split(',').map((c) => join('/sys/fs/cgroup', c, path!))));
  } catch {
    return [];
  }
}
