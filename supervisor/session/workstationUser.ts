/**
 * The workstation's user: the one account whose password unlocks the lock screen, fixed when the
 * supervisor starts and never learnt from whoever connects afterwards (issue #27: another member of
 * the shell group once unlocked with their own password). From, in this order: the supervisor's
 * `--shell-user`, the policy's `session.user`, or the kiosk unit enabled for exactly one user
 * (`cloison-kiosk@NAME.service` in a `.wants` folder of systemd's configuration).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { account } from '../system/accounts';

export interface WorkstationUser {
  name: string;
  uid: number;
  gid: number;
  /** Where the name came from, for the log and the lock screen's explanation. */
  source: 'shell-user' | 'policy' | 'kiosk-unit';
}

export type WorkstationUserResolution = { user: WorkstationUser; problem?: undefined } | { user: null; problem: string };

const KIOSK_UNIT = /^cloison-kiosk@([a-z_][a-z0-9_.-]{0,31})\.service$/;

/** The users a kiosk unit instance is enabled for (one per `.wants` symbolic link found). */
export function kioskInstanceUsers(systemdDir = '/etc/systemd/system'): string[] {
  const users = new Set<string>();
  let entries: string[];
  try {
    entries = readdirSync(systemdDir).filter((d) => d.endsWith('.wants'));
  } catch {
    return [];
  }
  for (const wants of entries) {
    try {
      for (const name of readdirSync(join(systemdDir, wants))) {
        const m = KIOSK_UNIT.exec(name);
        if (m) users.add(m[1]!);
      }
    } catch {
      /* not a folder */
    }
  }
  return [...users].sort();
}

export function resolveWorkstationUser(sources: { shellUser?: string | undefined; policyUser?: string | undefined; systemdDir?: string }): WorkstationUserResolution {
  const kiosk = sources.shellUser || sources.policyUser ? [] : kioskInstanceUsers(sources.systemdDir);
  const named: Array<[string, WorkstationUser['source']]> = [];
  if (sources.shellUser) named.push([sources.shellUser, 'shell-user']);
  else if (sources.policyUser) named.push([sources.policyUser, 'policy']);
  else if (kiosk.length === 1) named.push([kiosk[0]!, 'kiosk-unit']);
  else if (kiosk.length > 1) return { user: null, problem: `the kiosk unit is enabled for several users (${kiosk.join(', ')}): name the workstation's user with --shell-user NAME or session.user in the policy` };
  const [name, source] = named[0] ?? [];
  if (!name || !source) return { user: null, problem: 'no workstation user is known: start the supervisor with --shell-user NAME, set session.user in the policy, or enable cloison-kiosk@NAME.service' };
  const found = account(name);
  if (!found) return { user: null, problem: `the workstation user "${name}" (${source}) has no account on this machine` };
  if (found.uid === 0) return { user: null, problem: `the workstation user cannot be root ("${name}", ${source})` };
  return { user: { name, uid: found.uid, gid: found.gid, source } };
}
