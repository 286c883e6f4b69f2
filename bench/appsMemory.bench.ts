/**
 * Memory with the default applications open: `npm start` with the default policy (Firefox ESR in
 * low, LibreOffice Writer in high, both autostarted; 256 MiB homes) and the shell in Chromium with
 * npm start's flags, once both viewers show their application (see appsStart.bench.ts) and 10 s
 * more. Each process's proportional set size (Pss in /proc/PID/smaps_rollup: a page shared by n
 * processes counts 1/n in each, so the sums add up) is read and summed by side:
 *   trusted: the supervisor (Node) and the shell's Chromium, all its processes (browser, GPU,
 *            the shell's renderer and the viewers' renderers, utilities);
 *   helpers: the supervisor's other host processes serving the cages (bwrap's outer process, the
 *            NAT's slirp4netns, sound relays…), outside the cages but not the shell;
 *   cages:   every process in a cage's pid namespace (Xvnc, openbox, the applications).
 * Goal: trusted ≤ 25 % of the total; the helpers are printed apart and counted on the trusted side
 * in the ratio (the stricter reading).
 */
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { testRoot } from '../supervisor/testing/realCage';
import { processes } from './lib/processCpu';
import { benchPolicy, openShellSession, waitPainted } from './lib/shellSession';
import { fmt } from './lib/stats';

const SETTLE_MS = 10_000;

export interface AppsMemoryResult {
  /** MiB by side. */
  pssMiB: { trusted: number; helpers: number; cages: number };
  /** MiB of each process, by side: "name (pid)". */
  processes: Record<'trusted' | 'helpers' | 'cages', Record<string, number>>;
  /** Whether Pss came from smaps_rollup (else VmRSS, which counts shared pages in each process). */
  measure: 'pss' | 'rss';
}

/** A process's proportional set size in MiB (its resident size when the kernel has no smaps_rollup). */
function pssMiB(pid: number): { mib: number; pss: boolean } {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    if (m) return { mib: Number(m[1]) / 1024, pss: true };
  } catch {
    /* gone, or no smaps_rollup */
  }
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { mib: m ? Number(m[1]) / 1024 : 0, pss: false };
  } catch {
    return { mib: 0, pss: false };
  }
}

function pidNamespace(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

function descendants(root: number, all: ReturnType<typeof processes>): ReturnType<typeof processes> {
  const out: ReturnType<typeof processes> = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = all.find((q) => q.pid === pid);
    if (p) out.push(p);
    for (const q of all) if (q.ppid === pid) stack.push(q.pid);
  }
  return out;
}

export async function runAppsMemoryBench(log: (s: string) => void): Promise<AppsMemoryResult> {
  const root = testRoot('cloison-bench-mem-');
  try {
    const session = await openShellSession(root, benchPolicy(root));
    try {
      const painted = await waitPainted(session.page, session.t0, 180_000, 250);
      log(`  both applications painted: ${Object.entries(painted).map(([k, v]) => `${k} ${v} ms`).join(', ')}; settling ${SETTLE_MS / 1000} s`);
      await session.page.waitForTimeout(SETTLE_MS);
      const all = processes();
      const host = pidNamespace('self');
      const supervisor = all.find((p) => p.ppid === session.start.pid && p.cmd.includes('supervisor/main.js'));
      const shell = all.filter((p) => p.cmd.includes(session.marker)).find((p, _, marked) => !marked.some((q) => q.pid === p.ppid));
      if (!supervisor || !shell) throw new Error('the supervisor or the shell\'s Chromium was not found among the processes');
      const result: AppsMemoryResult = { pssMiB: { trusted: 0, helpers: 0, cages: 0 }, processes: { trusted: {}, helpers: {}, cages: {} }, measure: 'pss' };
      const add = (side: keyof AppsMemoryResult['pssMiB'], p: { pid: number; cmd: string }) => {
        const { mib, pss } = pssMiB(p.pid);
        if (!pss) result.measure = 'rss';
        const type = /--type=(\S+)/.exec(p.cmd)?.[1];
        result.processes[side][`${p.cmd.split(' ')[0]!.replace(/^.*\//, '')}${type ? ` ${type}` : ''} (${p.pid})`] = mib;
        result.pssMiB[side] += mib;
      };
      add('trusted', supervisor);
      for (const p of descendants(shell.pid, all)) add('trusted', p);
      for (const p of descendants(supervisor.pid, all)) {
        if (p.pid === supervisor.pid) continue;
        add(pidNamespace(p.pid) === host ? 'helpers' : 'cages', p);
      }
      const { trusted, helpers, cages } = result.pssMiB;
      const total = trusted + helpers + cages;
      log(`  ${result.measure === 'pss' ? 'PSS' : 'RSS (no smaps_rollup)'}: trusted side ${fmt(trusted, 0)} MiB (supervisor and shell), helpers ${fmt(helpers, 0)} MiB, cages ${fmt(cages, 0)} MiB; total ${fmt(total, 0)} MiB`);
      log(`  trusted / total: ${fmt((100 * trusted) / total, 1)} % without the helpers, ${fmt((100 * (trusted + helpers)) / total, 1)} % with them (goal ≤ 25 %: ${(trusted + helpers) / total <= 0.25 ? 'met' : 'not met'})`);
      for (const side of ['trusted', 'helpers', 'cages'] as const) {
        const list = Object.entries(result.processes[side]).sort((a, b) => b[1] - a[1]);
        log(`    ${side}: ${list.map(([name, mib]) => `${name} ${fmt(mib, 0)}`).join(', ')} (MiB)`);
      }
      return result;
    } finally {
      await session.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
