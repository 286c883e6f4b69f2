/**
 * Accounts through the system's name service (getent: local files, LDAP, SSSD alike): the lock
 * screen's "password of …", and the account the sound relay reaches the host's server as.
 */
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The name service look-up (native/nameServiceIds.c), built beside the bundles (the same folder from the bundle or the sources). */
export function builtNameServiceIds(): string {
  return stoodIn ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', 'nameServiceIds');
}

let stoodIn: string | null = null;

/** Tests only: a program that answers as a broken name service would (null: the built one again). */
export function standInNameServiceIds(program: string | null): void {
  stoodIn = program;
}

/** As long as getent was given: a source that hangs is killed with its process, never waited on longer. */
const LOOK_UP_TIMEOUT_MS = 5000;

/**
 * The name the name service gives a uid (`passwd`) or a gid (`group`), `#<id>` for an entry with
 * no name; null when none has it. Any entry is the fact that the id is held, whatever it prints
 * (an entry ":x:64177:…" has an empty name: cardProxyNamelessAccount.attack.test.ts).
 * Throws when no answer could be had — a source unavailable (LDAP or SSSD down, its module not
 * loadable), the look-up missing or timed out: a check that refuses what an account or a group
 * holds must not read "no answer" as "nobody's". getent cannot tell (its status 2 is "not found"
 * and "a source was unavailable" alike): nameServiceIds does.
 */
export function nameOfId(database: 'passwd' | 'group', id: number): string | null {
  return namesOfIds(database, [id]).get(id) ?? null;
}

/**
 * nameOfId for several ids in one process (the policy's reading asks this of every cage's and card
 * proxy's uid). Only the ids some entry holds are in the map. Synchronous: for the policy's
 * readings alone (the manager's first, before it serves anything); what runs while the manager
 * serves asks namesOfIdsAsync.
 */
export function namesOfIds(database: 'passwd' | 'group', ids: number[]): Map<number, string> {
  if (ids.length === 0) return new Map();
  const helper = builtNameServiceIds();
  let out: string;
  try {
    out = execFileSync(helper, [database, ...new Set(ids.map(String))], { encoding: 'utf8', timeout: LOOK_UP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw noAnswer(database, ids, err as Error);
  }
  return namesFrom(database, ids, out);
}

/** namesOfIds without stopping the process that asks: the look-up runs, and is killed at its timeout, as a process of its own. */
export function namesOfIdsAsync(database: 'passwd' | 'group', ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    execFile(builtNameServiceIds(), [database, ...new Set(ids.map(String))], { encoding: 'utf8', timeout: LOOK_UP_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, out) => {
      if (err) reject(noAnswer(database, ids, err));
      else {
        try {
          resolve(namesFrom(database, ids, out));
        } catch (problem) {
          reject(problem as Error);
        }
      }
    });
  });
}

function noAnswer(database: string, ids: number[], err: Error & { code?: unknown; killed?: boolean }): Error {
  // ETIMEDOUT: execFileSync's timeout; killed: execFile's.
  const why = err.code === 'ENOENT' ? `${builtNameServiceIds()} is missing (npm run build, with gcc)` : err.code === 'ETIMEDOUT' || err.killed ? `no answer within ${LOOK_UP_TIMEOUT_MS} ms` : err.message.split('\n')[0];
  return new Error(`the name service could not tell (${database} ${ids.join(' ')}): ${why}`);
}

/** The look-up's lines ("<id> held <name>", "<id> free", "<id> unavailable <errno> <why>"): every id answered, else it throws. */
function namesFrom(database: string, ids: number[], out: string): Map<number, string> {
  const names = new Map<number, string>();
  const answered = new Set<number>();
  for (const line of out.split('\n')) {
    const m = /^(\d+) (held|free|unavailable)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const id = Number(m[1]);
    answered.add(id);
    if (m[2] === 'held') names.set(id, m[3]?.trim() || `#${id}`);
    else if (m[2] === 'unavailable') {
      const [errno, ...why] = (m[3] ?? '').split(' ');
      throw new Error(`the name service could not tell whether ${database === 'passwd' ? 'an account has uid' : 'a group has gid'} ${id} (errno ${errno}${why.length > 0 ? `: ${why.join(' ')}` : ''})`);
    }
  }
  const unanswered = ids.filter((id) => !answered.has(id));
  if (unanswered.length > 0) throw new Error(`the name service could not tell (${database} ${unanswered.join(' ')}): no answer for them`);
  return names;
}
