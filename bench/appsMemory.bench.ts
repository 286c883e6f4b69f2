/**
 * Memory of the trusted side against the cages': `npm start` exactly as a user runs it (split, its
 * default; BENCH_SINGLE=1 for the root supervisor alone), its own Chromium sandboxed as the shell's
 * user (lib/productSession.ts), with the default policy (256 MiB homes). Two readings in one run,
 * both printed and both in the result, the trusted side read the same way (lib/sideMemory.ts):
 *   autostarted: once the autostarted applications (Firefox ESR in low, LibreOffice Writer in high)
 *            have painted, each level has been shown once (Ctrl+Alt+PageDown typed on the
 *            display), their windows are mapped and the cages' memory has been steady for a few
 *            seconds (lib/cagesSettled.ts: a first paint is not an application done loading);
 *   defaultsOpen: the issue's reading, "with the default applications open" — then every other
 *            application of the default policy started as the trusted launcher starts it
 *            (`apps.launch`, lib/defaultApps.ts: low's PDF viewer, file manager, terminal and
 *            editor; high's Calc and the same four), each level shown again as the launcher does
 *            after a start, every window of the eleven mapped in its cage and the cages steady again.
 * Summed by side:
 *   trusted: npm start (start.mjs), every Node process under it outside the cages — split (the
 *            default), the root cage manager, its `cloison` part and that part's browser and sound
 *            parts; --single, the root supervisor and its parts — any card proxy, and the shell's
 *            Chromium, all its processes (browser, GPU, the shell's renderer and the viewers'
 *            renderers, utilities, zygotes);
 *   helpers: the root part's other host processes serving the cages (bwrap's outer process, the
 *            NAT's slirp4netns…), outside the cages but not the shell;
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
import { openProductSession, productPathMissing, type ProductSession } from './lib/productSession';
import { benchPolicy, cageX11Dir } from './lib/shellSession';
import { fmt } from './lib/stats';
import { cagesSettled, STEADY_MIB, STEADY_MS, type Settled } from './lib/cagesSettled';
import { DEFAULT_APPS, launchDefaultApps, shellRpcSocket, windowsOf } from './lib/defaultApps';
import { breakdownOf, type ClassMemory, type MappingClass } from './lib/smapsBreakdown';
import { descendants, memoryOf, pidNamespace, processName, readSides, trustedShare, type SessionRoots, type SidesReading } from './lib/sideMemory';

/** How long the cages may take to stop growing once the windows are mapped before the run is read anyway (said). */
const STEADY_LIMIT_MS = 150_000;

/** The shell's renderers when both viewers are up: its page's and one per level's viewer (site per process). */
const EXPECTED_RENDERERS = 3;

/** The program each default application leaves running in its cage (LibreOffice's Calc joins Writer's soffice.bin). */
const PROGRAM_OF: Record<string, string> = { firefox: 'firefox-esr', writer: 'soffice.bin', calc: 'soffice.bin', pdf: 'mupdf-gl', files: 'pcmanfm', terminal: 'xterm', editor: 'mousepad' };

export interface AppsMemoryReading extends SidesReading {
  /** What was open: the applications, "level/id". */
  open: string[];
  /** ms after npm start's spawn the figures were read at; the cages' steadiness (null: not steady within the limit, read anyway). */
  readAtMs: number;
  cagesSteadyMs: number | null;
  /** The load average (1 min) when read. */
  load: number;
  /** Each cage's programs (one pid namespace each), by the level whose autostarted application runs there. */
  cagePrograms: Record<string, string[]>;
  /** Applications that should run and whose program no cage process runs (empty: every one found). */
  missingPrograms: string[];
  /** The shell's Chromium renderers: its page and one per level's viewer (fewer: a viewer's renderer is gone, the reading is not the shell's whole). */
  shellRenderers: number;
  /** The trusted side by mapping (lib/smapsBreakdown.ts), MiB: the shell's Chromium (all its processes) and the Node parts with start.mjs. */
  byMapping: { chromium: Partial<Record<MappingClass, ClassMemory>>; node: Partial<Record<MappingClass, ClassMemory>> };
}

export interface AppsMemoryResult {
  /** The autostarted applications only (the reading before this run's second). */
  autostarted: AppsMemoryReading;
  /** Every default application open: the issue's reading, the one its goal is judged on. */
  defaultsOpen: AppsMemoryReading;
  /** The launcher's answers: "level/id" → pid. */
  launched: Record<string, number>;
  load: number;
  /** The Node parts' own CPU seconds since their start, read at the end. */
  nodePartsCpuS: Record<string, number>;
}

/** A process's own CPU seconds (user + system), not its children's; 0 when it is gone. */
function ownCpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Each cage's distinct programs, keyed by the level whose autostarted application's program runs in it. */
function cagePrograms(rootPart: number): Record<string, string[]> {
  const host = pidNamespace('self');
  const byNamespace = new Map<string, Set<string>>();
  for (const p of descendants(rootPart, processes())) {
    const ns = pidNamespace(p.pid);
    if (ns === null || ns === host) continue;
    if (!byNamespace.has(ns)) byNamespace.set(ns, new Set());
    byNamespace.get(ns)!.add(processName(p.cmd));
  }
  const out: Record<string, string[]> = {};
  for (const [ns, programs] of byNamespace) {
    const level = DEFAULT_APPS.find((a) => a.autostart && programs.has(PROGRAM_OF[a.id]!))?.level ?? `namespace ${ns}`;
    out[level] = [...programs].sort();
  }
  return out;
}

/** The trusted side's processes by mapping: the shell's Chromium against its program file, the Node parts against Node's. */
function trustedByMapping(roots: SessionRoots, host: string | null): AppsMemoryReading['byMapping'] {
  const all = processes();
  const program = (pid: number) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return '';
    }
  };
  const nodes = [roots.start, ...descendants(roots.rootPart, all).filter((p) => pidNamespace(p.pid) === host && processName(p.cmd).startsWith('node')).map((p) => p.pid)];
  return {
    chromium: breakdownOf(descendants(roots.shell, all).map((p) => p.pid), program(roots.shell)),
    node: breakdownOf(nodes, program(roots.start)),
  };
}

/** Waits for `open`'s windows and the cages' steadiness, then reads every side; logs the reading. */
async function reading(label: string, open: typeof DEFAULT_APPS, session: ProductSession, roots: SessionRoots, root: string, log: (s: string) => void): Promise<AppsMemoryReading> {
  const host = pidNamespace('self');
  const cagesDirty = () => descendants(roots.rootPart, processes()).filter((p) => pidNamespace(p.pid) !== host).reduce((sum, p) => sum + memoryOf(p.pid).dirty, 0);
  const settled: Settled = await cagesSettled(windowsOf(open), (level) => cageX11Dir(root, level), cagesDirty, STEADY_LIMIT_MS);
  const since = Date.now() - session.t0;
  const sides = readSides(roots);
  const programs = cagePrograms(roots.rootPart);
  const missingPrograms = open.filter((a) => !programs[a.level]?.includes(PROGRAM_OF[a.id]!)).map((a) => `${a.level}/${a.id} (${PROGRAM_OF[a.id]})`);
  const shellRenderers = Object.keys(sides.processes.trusted).filter((name) => name.startsWith('chromium renderer')).length;
  const byMapping = trustedByMapping(roots, host);
  const r: AppsMemoryReading = { ...sides, open: open.map((a) => `${a.level}/${a.id}`), readAtMs: since, cagesSteadyMs: settled.steadyMs, load: loadavg()[0]!, cagePrograms: programs, missingPrograms, shellRenderers, byMapping };
  if (shellRenderers < EXPECTED_RENDERERS) log(`  [${label}] NOT THE WHOLE SHELL: ${shellRenderers} Chromium renderers, ${EXPECTED_RENDERERS} expected (its page and each level's viewer): a viewer's renderer is gone`);
  log(`  [${label}] open: ${r.open.join(', ')}; windows mapped in their cages (${open.map((a) => `${a.level}/${a.id} ${JSON.stringify(a.window)}`).join(', ')}) ${settled.mappedMs} ms after the wait began`);
  log(
    `  [${label}] the cages' private dirty ${settled.steadyMs === null ? `NOT steady within ${STEADY_LIMIT_MS / 1000} s` : `steady (within ${STEADY_MIB} MiB or 1 % over ${STEADY_MS / 1000} s) ${settled.steadyMs} ms after the wait began`}, read at ${since} ms, load ${fmt(r.load, 1)}; ` +
      `its samples (MiB, one a second): ${settled.samples.map((m) => fmt(m, 0)).join(' ')}`,
  );
  log(`  [${label}] the cages' programs: ${Object.entries(programs).map(([level, list]) => `${level}: ${list.join(' ')}`).join('; ')}${missingPrograms.length ? `; NOT RUNNING in its cage: ${missingPrograms.join(', ')}` : '; every open application\'s program runs in its level\'s cage'}`);
  for (const [name, by] of [['PSS', r.pssMiB], ['RSS', r.rssMiB], ['USS', r.ussMiB], ['private dirty', r.dirtyMiB], ['PSS without files (anon + shared memory)', r.ownPssMiB]] as const) {
    const total = by.trusted + by.helpers + by.cages;
    const share = trustedShare(by);
    log(`  [${label}] ${name}: trusted side ${fmt(by.trusted, 0)} MiB (npm start, the Node parts, the shell), helpers ${fmt(by.helpers, 0)} MiB, cages ${fmt(by.cages, 0)} MiB; total ${fmt(total, 0)} MiB`);
    log(`  [${label}] ${name} trusted / total: ${fmt((100 * by.trusted) / total, 1)} % without the helpers, ${fmt(100 * share, 1)} % with them (goal ≤ 25 %${name === 'PSS' ? `: ${share <= 0.25 ? 'met' : 'not met'}, ${fmt(share / 0.25, 2)}× the goal` : ', judged on PSS'})`);
  }
  for (const [who, by] of [["the shell's Chromium", byMapping.chromium], ['the Node parts and start.mjs', byMapping.node]] as const) {
    const list = Object.entries(by).sort((a, b) => b[1].pss - a[1].pss);
    log(`    [${label}] ${who} by mapping (PSS/private dirty MiB): ${list.map(([cls, m]) => `${cls} ${fmt(m.pss, 1)}/${fmt(m.dirty, 1)}`).join(', ')}`);
  }
  for (const side of ['trusted', 'helpers', 'cages'] as const) {
    const list = Object.entries(r.processes[side]).sort((a, b) => b[1].pss - a[1].pss);
    log(`    [${label}] ${side} (PSS/RSS/USS/private dirty/PSS without files MiB): ${list.map(([name, m]) => `${name} ${fmt(m.pss, 0)}/${fmt(m.rss, 0)}/${fmt(m.uss, 0)}/${fmt(m.dirty, 0)}/${fmt(m.own, 0)}`).join(', ')}`);
  }
  return r;
}

export async function runAppsMemoryBench(log: (s: string) => void): Promise<AppsMemoryResult> {
  const missing = productPathMissing();
  if (missing) throw new Error(`apps-memory measures the shell as npm start runs it: ${missing}`);
  const root = testRoot('cloison-bench-mem-');
  try {
    const load = loadavg()[0]!;
    // As npm start runs it now (the split) unless BENCH_SINGLE=1 asks for the root supervisor alone.
    const session = openProductSession(root, benchPolicy(root), { split: process.env.BENCH_SINGLE !== '1' });
    try {
      const painted = await session.appsPainted(['low', 'high'], 180_000);
      // Each level shown once, as a user looks at both: a hidden viewer has decoded nothing yet.
      const high = await session.switchTo('high');
      await new Promise((r) => setTimeout(r, 3000));
      const low = await session.switchTo('low');
      log(`  load ${fmt(load, 1)} at the start; applications painted in their cages: ${Object.entries(painted).map(([k, v]) => `${k} ${v} ms`).join(', ')}; shown: high at ${high} ms, low again at ${low} ms`);
      const started = processes();
      // npm start's root part: the cage manager (split, the default) or the root supervisor (--single).
      const rootPart = started.find((p) => p.ppid === session.start.pid && /supervisor\/(cageManager|main)\.js/.test(p.cmd));
      const shell = started.find((p) => p.ppid === session.start.pid && p.cmd.includes('chromium'));
      if (!rootPart || !shell) throw new Error('the root part (cage manager or supervisor) or the shell\'s Chromium was not found among npm start\'s processes');
      const roots: SessionRoots = { start: session.start.pid!, rootPart: rootPart.pid, shell: shell.pid };
      const autostarted = await reading('autostarted', DEFAULT_APPS.filter((a) => a.autostart), session, roots, root, log);
      // The rest of the default applications, started as the launcher starts them: it shows the
      // level, then asks (AppLauncher.tsx). The user's keys first (high shown: also input, so the
      // session's idle lock, which refuses apps.launch, is 3 minutes away), low shown last as before.
      await session.switchTo('high');
      const launched = await launchDefaultApps(shellRpcSocket(root));
      log(`  launched through apps.launch (the launcher's RPC), pid answered: ${Object.entries(launched).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 3000));
      await session.switchTo('low');
      const defaultsOpen = await reading('default applications open', DEFAULT_APPS, session, roots, root, log);
      const all = processes();
      log(`  ${rootPart.cmd.includes('cageManager.js') ? 'split (the cage manager and its cloison part)' : 'single (the root supervisor)'}: ${Object.keys(defaultsOpen.processes.trusted).filter((n) => n.startsWith('node')).join(', ')}`);
      // What the Node parts' V8 flags cost in CPU over the same start (their own, not their children's).
      const nodeParts = [session.start.pid!, ...descendants(rootPart.pid, all).filter((p) => pidNamespace(p.pid) === pidNamespace('self') && processName(p.cmd).startsWith('node')).map((p) => p.pid)];
      const nodePartsCpuS = Object.fromEntries(nodeParts.map((pid) => [`${processName(all.find((p) => p.pid === pid)!.cmd)} (${pid})`, ownCpuSeconds(pid)]));
      log(`  the Node parts' own CPU since their start (s): ${Object.entries(nodePartsCpuS).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')}`);
      for (const [label, r, issue] of [['autostarted applications only', autostarted, false], ['the default applications open', defaultsOpen, true]] as const) {
        const share = trustedShare(r.pssMiB);
        log(`  GOAL (${label}${issue ? ': the issue\'s reading' : ': not the issue\'s reading'}): trusted side ${fmt(100 * share, 1)} % of the PSS (${fmt(r.pssMiB.trusted + r.pssMiB.helpers, 0)} of ${fmt(r.pssMiB.trusted + r.pssMiB.helpers + r.pssMiB.cages, 0)} MiB), private dirty ${fmt(100 * trustedShare(r.dirtyMiB), 1)} %: ${r.shellRenderers < EXPECTED_RENDERERS ? `NO VERDICT: ${r.shellRenderers} of the shell's ${EXPECTED_RENDERERS} renderers` : share <= 0.25 ? 'met' : 'not met'} (≤ 25 %)`);
      }
      return { autostarted, defaultsOpen, launched, load, nodePartsCpuS };
    } finally {
      await session.close();
    }
  } finally {
    try {
      rmSync(root, { recursive: true, force: true });
    } catch (err) {
      // Not over the run's own error: a mount left under it is said, with its name.
      log(`  ${root} not removed: ${(err as Error).message}`);
    }
  }
}
