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
  try {
    const entry = execFileSync('getent', [database, String(id)], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return entry.split(':')[0]?.trim() || `#${id}`;
  } catch (err) {
    // getent's status 2: the key is not in the database.
    if ((err as { status?: number | null }).status === 2) return null;
    throw new Error(`getent ${database} ${id} gave no answer: ${(err as Error).message.split('\n')[0]}`);
  }
}
