import { execFileSync } from 'node:child_process';

/** Whether the name service gives `uid` an account now (getent passwd answers it). */
export function uidHeld(uid: number): boolean {
  try {
    execFileSync('getent', ['passwd', String(uid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
