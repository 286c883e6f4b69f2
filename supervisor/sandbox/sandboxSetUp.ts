/**
 * When a bwrap sandbox's own set-up is over: once the sandboxed command runs (bwrap's first process
 * in the sandbox, or its child, runs a program other than bwrap). bwrap's --info-fd names that
 * first process before it has set anything up, and among what it sets up is the loopback of a new
 * network namespace: it adds 127.0.0.1 to `lo` itself and dies (exit 1, "loopback: Failed
 * RTM_NEWADDR") if the address is there already — as it is once anyone has brought `lo` up from
 * outside (slirp4netns --configure does; so does a tunnel's set-up). A cage's network is attached
 * only after this; under load, attached at once, the cage sometimes never started.
 */
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { requireBinary } from '../system/binaries';

const POLL_MS = 10;

/**
 * Resolves true once the sandbox whose first process is `innerPid` runs its command; false if it
 * ended first (`ended` settled, or the process gone) or `timeoutMs` passed.
 */
export async function sandboxSetUp(innerPid: number, ended: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  const bwrap = realpathSync(requireBinary('bwrap'));
  let over = false;
  void ended.then(() => (over = true));
  const deadline = Date.now() + timeoutMs;
  while (!over && Date.now() < deadline) {
    const state = commandState(innerPid, bwrap);
    if (state !== 'setting-up') return state === 'running';
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

function commandState(innerPid: number, bwrap: string): 'setting-up' | 'running' | 'gone' {
  let children: number[];
  try {
    if (programOf(innerPid) !== bwrap) return 'running'; // bwrap --as-pid-1: it became the command
    children = readFileSync(`/proc/${innerPid}/task/${innerPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return 'gone';
  }
  for (const child of children) {
    try {
      if (programOf(child) !== bwrap) return 'running';
    } catch {
      /* that child ended meanwhile */
    }
  }
  return 'setting-up';
}

function programOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/exe`);
}
