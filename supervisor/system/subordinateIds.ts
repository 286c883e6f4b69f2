/**
 * The subordinate uid and gid ranges root grants in /etc/subuid and /etc/subgid (`name:start:count`
 * a line): a holder may map any of them into a user namespace of its own (newuidmap, newgidmap,
 * setuid root) and so be that kernel uid — signal its processes, as podman's `--userns=auto` grant
 * `containers:2147483647:2147483648` lets any of its containers. ownUids.ts keeps the sandboxes'
 * uids out of them.
 *
 * Read again when a file changes (its mtime, size or inode): they are root's to write. A file absent
 * grants nothing.
 */
import { readFileSync, statSync } from 'node:fs';

export interface SubordinateGrant {
  /** The file and line that grant it, for a reason a person can act on. */
  readonly file: string;
  readonly line: string;
  readonly start: number;
  /** One past the last id granted. */
  readonly end: number;
}

const DEFAULT_FILES = ['/etc/subuid', '/etc/subgid'];
let files: readonly string[] = DEFAULT_FILES;
const cache = new Map<string, { stamp: string; grants: SubordinateGrant[] }>();

/** Tests: the files to read in place of /etc/subuid and /etc/subgid (null: those again). */
export function readSubordinateIdsFrom(paths: readonly string[] | null): void {
  files = paths ?? DEFAULT_FILES;
  cache.clear();
}

/** A file's grants; malformed lines and comments grant nothing (newuidmap ignores them too). */
export function parseSubordinateIds(file: string, text: string): SubordinateGrant[] {
  const grants: SubordinateGrant[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([^:#\s][^:]*):(\d+):(\d+)$/.exec(line);
    if (!m || Number(m[3]) === 0) continue;
    grants.push({ file, line, start: Number(m[2]), end: Number(m[2]) + Number(m[3]) });
  }
  return grants;
}

function grantsOf(file: string): SubordinateGrant[] {
  let stamp: string;
  try {
    const s = statSync(file);
    stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    cache.delete(file);
    return [];
  }
  const known = cache.get(file);
  if (known?.stamp === stamp) return known.grants;
  let grants: SubordinateGrant[];
  try {
    grants = parseSubordinateIds(file, readFileSync(file, 'utf8'));
  } catch {
    // Unreadable (root's 0600 where the part reads it): the uids it may hold are not known to be free.
    grants = [{ file, line: '(unreadable)', start: 0, end: 2 ** 32 }];
  }
  cache.set(file, { stamp, grants });
  return grants;
}

/** Every grant of both files now. */
export function subordinateGrants(): SubordinateGrant[] {
  return files.flatMap(grantsOf);
}
