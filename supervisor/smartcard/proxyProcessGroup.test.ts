/**
 * The kill a card proxy's leftovers get on a host without control groups (proxyProcessGroup.ts):
 * a process group of the proxy uid dies; a group of another account's with the same kind of id
 * (what a reaped controller's id may have become) is left alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { killGroupAsUid, signalGroupWhileUnreaped } from './proxyProcessGroup';
import { waitFor } from '../testing/waitFor';

const PROXY_UID = 51_000 + (process.pid % 100);
const OTHER_UID = 51_100 + (process.pid % 100);

/** A process group of `uid`'s of two sleeps (its leader and a member), led by the returned child. */
function groupAs(uid: number): ChildProcess {
  return spawn('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', 'sh', '-c', 'sleep 300 & exec sleep 300'], { detached: true, stdio: 'ignore' });
}

/** Whether `pid` lives (not a zombie). */
function lives(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pids of process group `pgid` (/proc/PID/stat's 5th field). */
function membersOf(pgid: number): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid && lives(Number(pid))) out.push(Number(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

describe.skipIf(process.getuid?.() !== 0)("a card proxy's process group killed without root's rights", () => {
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) if (child.pid) for (const pid of membersOf(child.pid)) process.kill(pid, 'SIGKILL');
  });

  it("kills the proxy uid's group, and leaves another account's group of that id alone", async () => {
    const proxy = groupAs(PROXY_UID);
    const other = groupAs(OTHER_UID);
    started.push(proxy, other);
    await waitFor(() => membersOf(proxy.pid!).length === 2 && membersOf(other.pid!).length === 2, 'both groups to have their two processes', 15_000);

    // What root runs for a group id once its controller is reaped: the other account's id here.
    await killGroupAsUid(other.pid!, PROXY_UID);
    await killGroupAsUid(proxy.pid!, PROXY_UID);

    await waitFor(() => membersOf(proxy.pid!).length === 0, "the proxy uid's group to die", 15_000);
    expect(membersOf(other.pid!)).toHaveLength(2);
  });

  it('signals -pid while the leader is unreaped, never once Node reaped it', async () => {
    const proxy = groupAs(PROXY_UID);
    started.push(proxy);
    await waitFor(() => membersOf(proxy.pid!).length === 2, 'the group to have its two processes', 15_000);
    const exited = new Promise((resolve) => proxy.once('exit', resolve));
    expect(signalGroupWhileUnreaped(proxy, 'SIGKILL')).toBe(true);
    await exited;
    expect(signalGroupWhileUnreaped(proxy, 'SIGKILL')).toBe(false);
  });
});
