/**
 * Test helper: every long-running process of a started supervisor — the supervisor, its
 * descendants, and whatever lives in its cages' control groups (cages outlive the supervisor, so
 * they need not be its descendants) — with what /proc says of its privileges, and the TCP sockets
 * it listens on (which process accepts browser connections).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CageRecord } from '../cages/cageRecord';
import { cageProcess, type CageProcess } from './cageProcesses';

export interface CloisonProcess extends CageProcess {
  /** Whether it lives in a pid namespace of its own (a cage's), not the host's. */
  inCage: boolean;
  /** The TCP ports it holds a listening socket for. */
  listens: number[];
}

function parentOf(pid: string): number | null {
  try {
    return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  } catch {
    return null;
  }
}

/** Listening TCP sockets by inode, with their port (/proc/net/tcp and tcp6, state 0A). */
function listeningInodes(): Map<string, number> {
  const out = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') out.set(cols[9]!, parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return out;
}

export function cloisonProcesses(supervisorPid: number, runDir: string, levels: string[]): CloisonProcess[] {
  const mine = new Set<number>([supervisorPid]);
  for (const level of levels) {
    const record = JSON.parse(readFileSync(join(runDir, 'cages', level, 'cage.json'), 'utf8')) as CageRecord;
    for (const dir of record.cgroup?.dirs ?? []) {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) mine.add(Number(pid));
    }
  }
  const parents = new Map(readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map((p) => [Number(p), parentOf(p)] as const));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (parent !== null && mine.has(parent) && !mine.has(pid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  const hostPidNs = readlinkSync(`/proc/${supervisorPid}/ns/pid`);
  const listening = listeningInodes();
  return [...mine].flatMap((pid) => {
    const p = cageProcess(pid);
    if (!p) return [];
    let ns = hostPidNs;
    const listens: number[] = [];
    try {
      ns = readlinkSync(`/proc/${pid}/ns/pid`);
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode && listening.has(inode)) listens.push(listening.get(inode)!);
      }
    } catch {
      return [];
    }
    return [{ ...p, inCage: ns !== hostPidNs, listens }];
  });
}
