/**
 * The subordinate uid and gid ranges root grants in /etc/subuid and /etc/subgid (`name:start:count`
 * a line): a holder may map any of them into a user namespace of its own (newuidmap, newgidmap,
 * setuid root) and so be that kernel uid — signal its processes, as podman's `--userns=auto` grant
 * `containers:2147483647:2147483648` lets any of its containers. ownUids.ts keeps the sandboxes'
 * uids out of them.
 *
 * Read as newuidmap reads them (subordinateIdForms.attack.test.ts): hex and octal numbers, a fourth
 * field ignored, and nsswitch.conf's `subid:` source, which replaces the files.
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
const NSSWITCH = '/etc/nsswitch.conf';
let files: readonly string[] = DEFAULT_FILES;
const cache = new Map<string, { stamp: string; grants: SubordinateGrant[] }>();

/** Tests: the files to read in place of /etc/subuid and /etc/subgid (null: those again). */
export function readSubordinateIdsFrom(paths: readonly string[] | null): void {
  files = paths ?? DEFAULT_FILES;
  cache.clear();
}

/**
 * A start or count as shadow's getulong() reads it (strtoul, base 0): blanks, a sign, then decimal,
 * 0x hexadecimal or 0 octal. A minus is negated by strtoul into a huge number, whose meaning to
 * newuidmap is not ours to guess: Infinity (the grant then reaches every id above its start).
 */
function shadowNumber(field: string): number | null {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)\s*$/.exec(field);
  if (!m) return null;
  const digits = m[2]!;
  const value = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith('0') ? parseInt(digits.slice(1), 8) : Number(digits);
  return m[1] === '-' && value !== 0 ? Infinity : value;
}

/**
 * A file's grants, read as newuidmap reads them (shadow's subordinate_parse and getulong): the first
 * three ':' fields of a line, what follows the third ignored; start and count in decimal, hex or
 * octal. A blank at a line's ends or a '\r' counts nothing against a grant (reading more lines as
 * grants than newuidmap does only skips more uids). Comments and lines with fewer fields grant nothing.
 */
export function parseSubordinateIds(file: string, text: string): SubordinateGrant[] {
  const grants: SubordinateGrant[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [owner, startField, countField] = line.split(':');
    if (!owner || startField === undefined || countField === undefined) continue;
    const start = shadowNumber(startField);
    const count = shadowNumber(countField);
    if (start === null || count === null || count === 0) continue;
    grants.push({ file, line, start, end: start + count });
  }
  return grants;
}

/**
 * The `subid:` line of nsswitch.conf (shadow's lib/nss.c): a source other than `files` (`sss`:
 * FreeIPA's ranges) is what newuidmap asks, never /etc/subuid, and it cannot be listed here — so
 * every id is taken as granted. Its first word alone counts, the line starting the line, any case.
 */
export function parseSubidSource(file: string, text: string): SubordinateGrant[] {
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !/^subid:/i.test(line)) continue;
    const source = line.slice('subid:'.length).trim().split(/\s+/)[0];
    if (!source) continue;
    return source === 'files' ? [] : [{ file, line: `${line.trim()} (grants newuidmap asks ${source} for, which cannot be listed)`, start: 0, end: 2 ** 32 }];
  }
  return [];
}

function grantsOf(file: string, parse: (file: string, text: string) => SubordinateGrant[] = parseSubordinateIds): SubordinateGrant[] {
  let stamp: string;
  try {
    const s = statSync(file);
    stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    cache.delete(file);
    // Only a file that is not there grants nothing; one that cannot be looked at is not known to.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    return [{ file, line: `(unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'})`, start: 0, end: 2 ** 32 }];
  }
  const known = cache.get(file);
  if (known?.stamp === stamp) return known.grants;
  let grants: SubordinateGrant[];
  try {
    grants = parse(file, readFileSync(file, 'utf8'));
  } catch {
    // Unreadable (root's 0600 where the part reads it): the uids it may hold are not known to be free.
    grants = [{ file, line: '(unreadable)', start: 0, end: 2 ** 32 }];
  }
  cache.set(file, { stamp, grants });
  return grants;
}

/** Every grant of both files now, and every id when nsswitch.conf names another source of them. */
export function subordinateGrants(): SubordinateGrant[] {
  return [...files.flatMap((file) => grantsOf(file)), ...grantsOf(NSSWITCH, parseSubidSource)];
}
