/**
 * Root's signals to a card proxy's process group, only while its id is the proxy's. The controller
 * is spawned detached: its pid P is its group's id. While the controller is unreaped (alive or a
 * zombie) no process can be given P, so `kill(-P)` reaches the proxy's group and nothing else.
 * Once Node reaped it, P is free as soon as the group's last process goes, and the next process
 * the kernel starts — another account's — may lead a group of that id (attack-3's
 * staleProcessGroup.attack.test.ts): root then never signals -P; the proxy's control group is
 * killed instead, and without one the group is signalled with the proxy uid's rights alone.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { requireBinary } from '../system/binaries';

const KILL_AS_PROXY_TIMEOUT_MS = 5_000;

/** Whether Node has not reaped the child yet (it sets exitCode or signalCode as it reaps, in this thread). */
export function unreaped(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Signals the child's process group if the child is unreaped (its id still its own); whether it was signalled. */
export function signalGroupWhileUnreaped(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (!unreaped(child)) return false;
  try {
    process.kill(-child.pid!, signal);
    return true;
  } catch {
    return false; // the group is empty (a zombie controller alone in it)
  }
}

/**
 * SIGKILL to process group `pgid` sent by a process of `uid` (setpriv, then the shell's kill): the
 * kernel delivers it to the members whose uid is `uid` alone, in the same check as the delivery —
 * no window between reading /proc and signalling where the id could change hands. Another
 * account's group that took the id gets nothing (EPERM). Resolves whatever kill says.
 */
export function killGroupAsUid(pgid: number, uid: number): Promise<void> {
  if (!Number.isInteger(pgid) || pgid <= 1) return Promise.resolve();
  const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', requireBinary('sh'), '-c', 'kill -s KILL -- "-$1" 2>/dev/null', 'sh', String(pgid)];
  return new Promise((resolve) => {
    execFile(requireBinary('setpriv'), argv, { timeout: KILL_AS_PROXY_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin' }, cwd: '/' }, () => resolve());
  });
}
