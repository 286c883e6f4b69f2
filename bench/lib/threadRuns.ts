/**
 * What a process costs while it should be idle, read from /proc/PID/task/{tid}/schedstat: the CPU
 * its threads ran (nanoseconds, not the 10 ms ticks of /proc/PID/stat) and how many times they were
 * put on a CPU — every wake-up counts once, however short.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ThreadRuns {
  cpuMs: number;
  runs: number;
}

export function threadRuns(pid: number): ThreadRuns {
  let cpuNs = 0;
  let runs = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { cpuMs: 0, runs: 0 };
  }
  for (const tid of tasks) {
    try {
      const [ran, , slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      cpuNs += ran!;
      runs += slices!;
    } catch {
      /* the thread ended */
    }
  }
  return { cpuMs: cpuNs / 1e6, runs };
}

/** The sum over `pids` of what each ran between two readings, per second of `seconds`. */
export async function runsPerSecond(pids: number[], seconds: number): Promise<ThreadRuns> {
  const before = pids.map(threadRuns);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = pids.map(threadRuns);
  const sum = (f: (t: ThreadRuns) => number) => after.reduce((s, t, i) => s + f(t) - f(before[i]!), 0) / seconds;
  return { cpuMs: sum((t) => t.cpuMs), runs: sum((t) => t.runs) };
}
