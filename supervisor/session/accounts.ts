/**
 * An account's name from its uid, through the system's name service (getent: local files, LDAP,
 * SSSD alike), for the lock screen's "password of …" and the PAM check.
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
