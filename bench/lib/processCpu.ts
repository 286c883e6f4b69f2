/**
 * CPU seconds (user + system) used by a process and all its descendants, read from /proc, so a
 * proxy that forks per connection (websockify) is measured whole.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function statOf(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { ppid: Number(fields[1]), ticks };
  } catch {
    return null;
  }
}

export function cpuSecondsOfTree(root: number): number {
  const all = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(Number(entry));
    if (s) all.set(Number(entry), s);
  }
  let ticks = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const s = all.get(pid);
    if (!s) continue;
    ticks += s.ticks;
    for (const [child, cs] of all) if (cs.ppid === pid) stack.push(child);
  }
  return ticks / TICKS_PER_SECOND;
}

export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Every process: pid, parent, command line. */
export function processes(): Array<{ pid: number; ppid: number; cmd: string }> {
  const out: Array<{ pid: number; ppid: number; cmd: string }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(e), ppid, cmd: readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The topmost process whose command line holds `marker` (a browser launched with it, say). */
export function treeRootWith(marker: string, all = processes()): number | null {
  const marked = all.filter((p) => p.cmd.includes(marker));
  return marked.find((p) => !marked.some((q) => q.pid === p.ppid))?.pid ?? null;
}

/** CPU seconds of each process of a tree, keyed by its name (Chromium's by process type). */
export function cpuSecondsByProcess(root: number): Record<string, number> {
  const all = processes();
  const out: Record<string, number> = {};
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = all.find((q) => q.pid === pid);
    const s = statOf(pid);
    if (p && s) {
      const type = /--type=(\S+)/.exec(p.cmd)?.[1];
      const name = `${p.cmd.split(' ')[0]!.replace(/^.*\//, '')}${type ? ` ${type}` : ''}`;
      out[name] = (out[name] ?? 0) + s.ticks / TICKS_PER_SECOND;
    }
    for (const q of all) if (q.ppid === pid) stack.push(q.pid);
  }
  return out;
}

/** CPU seconds of one process (not its children), 0 once it is gone. */
export function cpuSecondsOf(pid: number): number {
  return (statOf(pid)?.ticks ?? 0) / TICKS_PER_SECOND;
}

/** CPU milliseconds every core of the machine has spent busy (user, nice, system, irq) since boot. */
export function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((user! + nice! + system! + irq! + softirq!) * 1000) / TICKS_PER_SECOND;
}
