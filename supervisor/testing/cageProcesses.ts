/**
 * Test helper: every process in a cage's pid namespace, read from the host's /proc, with what makes
 * it a true cage process or not — its seccomp mode, no_new_privs, effective capabilities, uid and
 * control group — so a test can check them all, not only the ones it started.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { pidNamespaceOf } from '../sandbox/peerCredentials';

export interface CageProcess {
  /** Host pid. */
  pid: number;
  /** Its pid inside the cage. */
  innerPid: number;
  command: string;
  uid: number;
  seccomp: number;
  noNewPrivs: number;
  capEff: string;
  /** /proc/PID/cgroup as the host sees it. */
  cgroup: string;
}

function field(status: string, name: string): string {
  return new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
}

/** A process's view, or null once it has gone. */
export function cageProcess(pid: number): CageProcess | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const nspid = field(status, 'NSpid').split(/\s+/);
    return {
      pid,
      innerPid: Number(nspid[nspid.length - 1]),
      command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200),
      uid: Number(field(status, 'Uid').split(/\s+/)[0]),
      seccomp: Number(field(status, 'Seccomp')),
      noNewPrivs: Number(field(status, 'NoNewPrivs')),
      capEff: field(status, 'CapEff'),
      cgroup: readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim(),
    };
  } catch {
    return null;
  }
}

/** Every process living in the pid namespace of `anyPidInCage` (a host pid), as the host sees it. */
export function processesInCage(anyPidInCage: number): CageProcess[] {
  const ns = pidNamespaceOf(anyPidInCage);
  if (!ns) throw new Error(`process ${anyPidInCage} has gone`);
  const out: CageProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || pidNamespaceOf(Number(entry)) !== ns) continue;
    const p = cageProcess(Number(entry));
    if (p) out.push(p);
  }
  return out;
}

/** The host pid of the cage process the cage calls `innerPid`. */
export function hostPidOf(anyPidInCage: number, innerPid: number): number | null {
  return processesInCage(anyPidInCage).find((p) => p.innerPid === innerPid)?.pid ?? null;
}

/** The names of the processes running as `uid` (pgrep): a cage and what it started, gone or not. */
export function processNamesOf(uid: number): string[] {
  const found = spawnSync('pgrep', ['-u', String(uid), '-l'], { encoding: 'utf8' }).stdout;
  return found.split('\n').filter(Boolean).map((line) => line.split(' ')[1]!);
}

/**
 * The pids of the Xvnc servers running as `uid`. Not a server's own fork: an X server compiling a
 * keymap forks to run xkbcomp (the keymap the supervisor sets after each start), and until that
 * child's exec it is named Xvnc too — counted, a restarted cage looked like two servers.
 */
export function xvncPidsOf(uid: number): string[] {
  const named = spawnSync('pgrep', ['-u', String(uid), '-x', 'Xvnc'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return named.filter((pid) => !named.includes(parentOf(pid)));
}

/** The parent pid of `pid` ('' once it is gone). */
function parentOf(pid: string): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '';
  } catch {
    return '';
  }
}
