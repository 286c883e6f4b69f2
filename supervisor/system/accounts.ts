/**
 * Accounts through the system's name service (getent: local files, LDAP, SSSD alike): the lock
 * screen's "password of …", and the account the sound relay reaches the host's server as.
 */
import { execFileSync } from 'node:child_process';

export function userName(uid: number): string | null {
  try {
    const entry = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 5000 }).trim();
    return entry.split(':')[0] || null;
  } catch {
    return null;
  }
}

/** An account by name: its uid, gid and home; null when there is none. */
export function account(name: string): { uid: number; gid: number; home: string } | null {
  try {
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 }).trim().split(':');
    return uid === undefined || gid === undefined || home === undefined ? null : { uid: Number(uid), gid: Number(gid), home };
  } catch {
    return null;
  }
}

/**
 * The name the name service gives a uid (`passwd`) or a gid (`group`), `#<id>` for an entry with
 * no name; null when none has it. getent's status 0 is the fact that some entry holds the id,
 * whatever it prints (an entry ":x:64177:…" has an empty name: cardProxyNamelessAccount.attack.test.ts).
 * Throws when no answer could be had (getent missing, timed out, a directory down): a check that
 * refuses what an account or a group holds must not read "no answer" as "nobody's".
 */
export function nameOfId(database: 'passwd' | 'group', id: number): string | null {
  return namesOfIds(database, [id]).get(id) ?? null;
}

/**
 * nameOfId for several ids in one getent (one process, not one per id: the policy's reading asks
 * this of every cage's and card proxy's uid). Only the ids some entry holds are in the map, each by
 * the id its entry gives (the third field), named as nameOfId names it.
 */
export function namesOfIds(database: 'passwd' | 'group', ids: number[]): Map<number, string> {
  const names = new Map<number, string>();
  if (ids.length === 0) return names;
  let entries: string;
  let all = true; // status 0: every key is held, whatever the entries print
  try {
    entries = execFileSync('getent', [database, ...new Set(ids.map(String))], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // getent's status 2: one key or more is not in the database (those it found are printed).
    const { status, stdout } = err as { status?: number | null; stdout?: string };
    if (status !== 2) throw new Error(`getent ${database} ${ids.join(' ')} gave no answer: ${(err as Error).message.split('\n')[0]}`);
    entries = stdout ?? '';
    all = false;
  }
  for (const line of entries.split('\n').filter((l) => l.trim() !== '')) {
    const fields = line.split(':');
    const id = Number(fields[2]);
    // An entry whose id cannot be read, when not every key was held: which one it holds is unknown.
    if (fields[2] === undefined || fields[2] === '' || !Number.isInteger(id)) {
      if (all) continue;
      throw new Error(`getent ${database} ${ids.join(' ')} gave an entry without an id: ${line.slice(0, 200)}`);
    }
    if (ids.includes(id)) names.set(id, fields[0]?.trim() || `#${id}`);
  }
  if (all) for (const id of ids) if (!names.has(id)) names.set(id, `#${id}`);
  return names;
}
