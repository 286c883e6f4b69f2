/**
 * What a proxy's process tree did besides spending CPU, read from /proc the way processCpu.ts
 * reads its CPU (the tree's own counters plus those of children already reaped): minor page
 * faults, and the read()/write() calls with their bytes (/proc/PID/io's syscr, rchar…). The
 * gateway's CPU per GiB depends on them (fresh buffers per read fault pages in; small reads mean
 * more calls and more garbage); printed beside it, they say which of its two regimes a run was in.
 * websockify reads with recv()/send(), which /proc/PID/io does not count: its calls show as 0.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface TreeCounters {
  minorFaults: number;
  readCalls: number;
  readBytes: number;
  writeCalls: number;
  writeBytes: number;
}

function ioOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    return ['syscr', 'rchar', 'syscw', 'wchar'].map((key) => Number(new RegExp(`${key}: (\\d+)`).exec(text)?.[1] ?? 0));
  } catch {
    return [0, 0, 0, 0];
  }
}

/** The counters of `root` and every process below it (a reaped child's in its parent's, as the kernel adds them at the wait). */
export function treeCounters(root: number): TreeCounters {
  const parents = new Map<number, { ppid: number; faults: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      // After the command: state(0) ppid(1) … minflt(7) cminflt(8)
      parents.set(Number(entry), { ppid: Number(fields[1]), faults: Number(fields[7]) + Number(fields[8]) });
    } catch {
      /* gone */
    }
  }
  const out: TreeCounters = { minorFaults: 0, readCalls: 0, readBytes: 0, writeCalls: 0, writeBytes: 0 };
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = parents.get(pid);
    if (!p) continue;
    const [readCalls, readBytes, writeCalls, writeBytes] = ioOf(pid);
    out.minorFaults += p.faults;
    out.readCalls += readCalls!;
    out.readBytes += readBytes!;
    out.writeCalls += writeCalls!;
    out.writeBytes += writeBytes!;
    for (const [child, c] of parents) if (c.ppid === pid) stack.push(child);
  }
  return out;
}

export function countersSince(before: TreeCounters, after: TreeCounters): TreeCounters {
  return {
    minorFaults: after.minorFaults - before.minorFaults,
    readCalls: after.readCalls - before.readCalls,
    readBytes: after.readBytes - before.readBytes,
    writeCalls: after.writeCalls - before.writeCalls,
    writeBytes: after.writeBytes - before.writeBytes,
  };
}
