/**
 * Waits until the machine's cores are mostly idle, for work that may come later but should not
 * take CPU from a start (the gateway's warm-up: on two cores it ran while Firefox and LibreOffice
 * started in their cages, on their critical path). Read from /proc/stat: the share of the cores'
 * time spent busy over the last `windowMs`. Never waits longer than `maxWaitMs`: on a machine that
 * is never quiet the work runs all the same.
 */

/** The machine's busy and total CPU ticks since boot (first line of /proc/stat). */
export interface CpuTicks {
  busy: number;
  total: number;
}

export function parseProcStat(text: string): CpuTicks {
  const fields = (text.split('\n')[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu') throw new Error('/proc/stat: no cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(1, 9).map((f) => Number(f) || 0);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

export interface QuietMachineOptions {
  /** Quiet: the cores were busy at most this share of the window (0–1). */
  busyShare: number;
  windowMs: number;
  maxWaitMs: number;
  /** Reads the ticks (/proc/stat unless a test gives its own). */
  read: () => CpuTicks;
  signal?: AbortSignal;
}

/** Resolves with how long it waited and whether the machine was found quiet (false: waited the most, or aborted). */
export async function waitForQuietMachine(o: QuietMachineOptions): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = Date.now();
  let before = o.read();
  while (!o.signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, o.windowMs));
    const now = o.read();
    const total = now.total - before.total;
    if (total > 0 && (now.busy - before.busy) / total <= o.busyShare) return { waitedMs: Date.now() - started, quiet: true };
    if (Date.now() - started >= o.maxWaitMs) break;
    before = now;
  }
  return { waitedMs: Date.now() - started, quiet: false };
}
