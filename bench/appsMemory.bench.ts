/**
 * Memory with the default applications open: `npm start` exactly as a user runs it, its own
 * Chromium sandboxed as the shell's user (lib/productSession.ts), with the default policy (Firefox
 * ESR in low, LibreOffice Writer in high, both autostarted; 256 MiB homes), once both applications
 * have painted in their cages, each level has been shown once (Ctrl+Alt+PageDown typed on the
 * display) and 10 s more. Summed by side:
 *   trusted: npm start (start.mjs), the supervisor (Node) and the shell's Chromium, all its
 *            processes (browser, GPU, the shell's renderer and the viewers' renderers, utilities,
 *            zygotes);
 *   helpers: the supervisor's other host processes serving the cages (bwrap's outer process, the
 *            NAT's slirp4netns, sound relays…), outside the cages but not the shell;
 *   cages:   every process in a cage's pid namespace (Xvnc, openbox, the applications).
 * Goal: trusted ≤ 25 % of the total; the helpers are printed apart and counted on the trusted side
 * in the ratio (the stricter reading).
 *
 * Two measures, both printed. PSS (Pss in /proc/PID/smaps_rollup) is the one the goal is judged
 * on: a page shared by n processes counts 1/n in each, so the sides add up to what the machine
 * holds. RSS counts a shared page whole in every process that maps it — each of Chromium's dozen
 * processes counts its whole library, each of Firefox's counts libxul — so its sums exceed the
 * memory used; it is printed beside as the figure `ps` shows. USS (each process's private pages,
 * Private_Clean + Private_Dirty) is printed too: PSS divides a library's pages among every process
 * of the machine mapping it — other sessions' Chromium and Firefox on a shared machine lower ours —
 * USS (Private_Clean + Private_Dirty) was meant not to depend on what else runs, but a page of a
 * program's file that no other process maps at that moment is "private clean": the shell's Chromium
 * had 62 MiB of /usr/lib/chromium/chromium private while no other Chromium ran on the machine, 14 MiB
 * a minute later when another session's did. Private dirty pages (the heaps, what each process
 * wrote itself) do not move with the neighbours: they are the figure to compare two runs by.
 */
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { testRoot } from '../supervisor/testing/realCage';
import { processes } from './lib/processCpu';
import { loadavg } from 'node:os';
import { openProductSession, productPathMissing } from './lib/productSession';
import { benchPolicy } from './lib/shellSession';
import { fmt } from './lib/stats';

const SETTLE_MS = 10_000;

type Side = 'trusted' | 'helpers' | 'cages';

export interface AppsMemoryResult {
  /** MiB by side, proportional (the goal's measure). */
  pssMiB: Record<Side, number>;
  /** MiB by side, resident (shared pages counted in each process). */
  rssMiB: Record<Side, number>;
  /** MiB by side, private to each process (USS). */
  ussMiB: Record<Side, number>;
  /** MiB by side, written by each process alone (Private_Dirty: the same whatever else runs). */
  dirtyMiB: Record<Side, number>;
  /** PSS, RSS, USS and private dirty MiB of each process, by side: "name (pid)". */
  processes: Record<Side, Record<string, Memory>>;
  load: number;
}

interface Memory {
  pss: number;
  rss: number;
  uss: number;
  dirty: number;
}

/** A process's proportional, resident, unique and private dirty sizes in MiB (0 when it is gone). */
function memoryOf(pid: number): Memory {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pss: kib('Pss') / 1024, rss: kib('Rss') / 1024, uss: (kib('Private_Clean') + kib('Private_Dirty')) / 1024, dirty: kib('Private_Dirty') / 1024 };
  } catch {
    return { pss: 0, rss: 0, uss: 0, dirty: 0 };
  }
}

/** A Chromium renderer's client id, to tell the shell's page from the viewers' in the listing. */
function rendererId(cmd: string): string {
  const id = /--renderer-client-id=(\d+)/.exec(cmd)?.[1];
  return id ? ` #${id}` : '';
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
  const missing = productPathMissing();
  if (missing) throw new Error(`apps-memory measures the shell as npm start runs it: ${missing}`);
  const root = testRoot('cloison-bench-mem-');
  try {
    const load = loadavg()[0]!;
    const session = openProductSession(root, benchPolicy(root));
    try {
      const painted = await session.appsPainted(['low', 'high'], 180_000);
      // Each level shown once, as a user looks at both: a hidden viewer has decoded nothing yet.
      const high = await session.switchTo('high');
      await new Promise((r) => setTimeout(r, 3000));
      const low = await session.switchTo('low');
      log(`  load ${fmt(load, 1)}; applications painted in their cages: ${Object.entries(painted).map(([k, v]) => `${k} ${v} ms`).join(', ')}; shown: high at ${high} ms, low again at ${low} ms; settling ${SETTLE_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const all = processes();
      const host = pidNamespace('self');
      const supervisor = all.find((p) => p.ppid === session.start.pid && p.cmd.includes('supervisor/main.js'));
      const shell = all.find((p) => p.ppid === session.start.pid && p.cmd.includes('chromium'));
      if (!supervisor || !shell) throw new Error('the supervisor or the shell\'s Chromium was not found among npm start\'s processes');
      const zero = () => ({ trusted: 0, helpers: 0, cages: 0 });
      const result: AppsMemoryResult = { pssMiB: zero(), rssMiB: zero(), ussMiB: zero(), dirtyMiB: zero(), processes: { trusted: {}, helpers: {}, cages: {} }, load };
      const add = (side: Side, p: { pid: number; cmd: string }) => {
        const m = memoryOf(p.pid);
        const type = /--type=(\S+)/.exec(p.cmd)?.[1];
        result.processes[side][`${p.cmd.split(' ')[0]!.replace(/^.*\//, '')}${type ? ` ${type}` : ''}${type === 'renderer' ? rendererId(p.cmd) : ''} (${p.pid})`] = m;
        result.pssMiB[side] += m.pss;
        result.rssMiB[side] += m.rss;
        result.ussMiB[side] += m.uss;
        result.dirtyMiB[side] += m.dirty;
      };
      add('trusted', all.find((p) => p.pid === session.start.pid)!); // npm start itself (start.mjs)
      add('trusted', supervisor);
      for (const p of descendants(shell.pid, all)) add('trusted', p);
      for (const p of descendants(supervisor.pid, all)) {
        if (p.pid === supervisor.pid) continue;
        add(pidNamespace(p.pid) === host ? 'helpers' : 'cages', p);
      }
      for (const [name, by] of [['PSS', result.pssMiB], ['RSS', result.rssMiB], ['USS', result.ussMiB], ['private dirty', result.dirtyMiB]] as const) {
        const { trusted, helpers, cages } = by;
        const total = trusted + helpers + cages;
        const share = (trusted + helpers) / total;
        log(`  ${name}: trusted side ${fmt(trusted, 0)} MiB (npm start, supervisor, shell), helpers ${fmt(helpers, 0)} MiB, cages ${fmt(cages, 0)} MiB; total ${fmt(total, 0)} MiB`);
        log(`  ${name} trusted / total: ${fmt((100 * trusted) / total, 1)} % without the helpers, ${fmt(100 * share, 1)} % with them (goal ≤ 25 %${name === 'PSS' ? `: ${share <= 0.25 ? 'met' : 'not met'}, ${fmt(share / 0.25, 2)}× the goal` : ', judged on PSS'})`);
      }
      for (const side of ['trusted', 'helpers', 'cages'] as const) {
        const list = Object.entries(result.processes[side]).sort((a, b) => b[1].pss - a[1].pss);
        log(`    ${side} (PSS/RSS/USS/private dirty MiB): ${list.map(([name, m]) => `${name} ${fmt(m.pss, 0)}/${fmt(m.rss, 0)}/${fmt(m.uss, 0)}/${fmt(m.dirty, 0)}`).join(', ')}`);
      }
      return result;
    } finally {
      await session.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
