/**
 * Reaches a cage started by the supervisor under test, from outside: finds a process of the
 * cage's uid (its Xvnc) and runs commands in that cage's namespaces as that uid, no capability.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cageShell, type CageShell } from '../../supervisor/testing/realCage';

export function cageShellForUid(uid: number): CageShell {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'Xvnc' && new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) return cageShell(Number(entry), uid);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no running cage with uid ${uid}`);
}

/** PIDs of the processes running as a cage's uid. */
export function cagePids(uid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${e}/status`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * PIDs of a cage's long-lived processes (its Xvnc, its window manager, its terminals): the ones a
 * restart elsewhere must leave alone. cagePids also lists what the cage runs for a moment (a
 * session script's children, a helper), which may end by itself at any time.
 */
export function cageLongLivedPids(uid: number, names: string[] = ['Xvnc', 'openbox', 'xterm']): number[] {
  return cagePids(uid).filter((pid) => {
    try {
      return names.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  });
}

