/**
 * Memory with the default applications open: `npm start` exactly as a user runs it (split, its
 * default; BENCH_SINGLE=1 for the root supervisor alone), its own Chromium sandboxed as the shell's
 * user (lib/productSession.ts), with the default policy (Firefox ESR in low, LibreOffice Writer
 * in high, both autostarted; 256 MiB homes), once both applications have painted in their cages,
 * each level has been shown once (Ctrl+Alt+PageDown typed on the display), both applications'
 * windows are mapped and the cages' memory has been steady for a few seconds (lib/cagesSettled.ts:
 * a first paint is not an application done loading). Summed by side:
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
import { openProductSession, productPathMissing } from './lib/productSession';
import { benchPolicy, cageX11Dir } from './lib/shellSession';
import { fmt } from './lib/stats';
import { cagesSettled, STEADY_MIB, STEADY_MS, type AppWindows } from './lib/cagesSettled';

/** The default policy's autostarted applications, by the WM_CLASS of the window each maps. */
const DEFAULT_APP_WINDOWS: AppWindows = { low: 'firefox', high: 'libreoffice-writer' };
/** How long the cages may take to stop growing once the windows are mapped before the run is read anyway (said). */
const STEADY_LIMIT_MS = 150_000;

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
  /** MiB by side, PSS without files' pages (Pss_Anon + Pss_Shmem): heaps, and shared memory such as a canvas's frames between a renderer and the GPU process, split among their sharers; no program's code. */
  ownPssMiB: Record<Side, number>;
  /** PSS, RSS, USS, private dirty and own PSS MiB of each process, by side: "name (pid)". */
  processes: Record<Side, Record<string, Memory>>;
  load: number;
  /** ms after npm start's spawn the figures were read at; the cages' steadiness (null: not steady within the limit, read anyway). */
  readAtMs: number;
  cagesSteadyMs: number | null;
}

interface Memory {
  pss: number;
  rss: number;
  uss: number;
  dirty: number;
  own: number;
}

/** A process's proportional, resident, unique and private dirty sizes in MiB (0 when it is gone). */
function memoryOf(pid: number): Memory {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pss: kib('Pss') / 1024, rss: kib('Rss') / 1024, uss: (kib('Private_Clean') + kib('Private_Dirty')) / 1024, dirty: kib('Private_Dirty') / 1024, own: (kib('Pss_Anon') + kib('Pss_Shmem')) / 1024 };
  } catch {
    return { pss: 0, rss: 0, uss: 0, dirty: 0, own: 0 };
  }
}

/** A process's name in the listing: a Node process by its script (cageManager.js, cloisonPart.js…). */
function processName(cmd: string): string {
  const argv = cmd.trim().split(' ');
  const program = argv[0]!.replace(/^.*\//, '');
  if (program !== 'node') return program;
  const script = argv.slice(1).find((a) => /\.(c|m)?js$/.test(a));
  return script ? `node ${script.replace(/^.*\//, '')}` : program;
}

/** A card proxy (Caml Crush's server or p11-kit's), on the trusted side though no Node. */
function isCardProxy(cmd: string): boolean {
  return /(^|\/)(pkcs11proxyd|p11-kit)$/.test(cmd.trim().split(' ')[0]!);
}

/** A Chromium renderer's client id, to tell the shell's page from the viewers' in the listing. */
function rendererId(cmd: string): string {
  const id = /--renderer-client-id=(\d+)/.exec(cmd)?.[1];
  return id ? ` #${id}` : '';
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
    // As npm start runs it now (the split) unless BENCH_SINGLE=1 asks for the root supervisor alone.
    const session = openProductSession(root, benchPolicy(root), { split: process.env.BENCH_SINGLE !== '1' });
    try {
      const painted = await session.appsPainted(['low', 'high'], 180_000);
      // Each level shown once, as a user looks at both: a hidden viewer has decoded nothing yet.
      const high = await session.switchTo('high');
      await new Promise((r) => setTimeout(r, 3000));
      const low = await session.switchTo('low');
      const host = pidNamespace('self');
      const started = processes();
      // npm start's root part: the cage manager (split, the default) or the root supervisor (--single).
      const rootPart = started.find((p) => p.ppid === session.start.pid && /supervisor\/(cageManager|main)\.js/.test(p.cmd));
      const shell = started.find((p) => p.ppid === session.start.pid && p.cmd.includes('chromium'));
      if (!rootPart || !shell) throw new Error('the root part (cage manager or supervisor) or the shell\'s Chromium was not found among npm start\'s processes');
      // The cages' processes: the root part's descendants in a pid namespace other than the host's.
      const inCages = (all: ReturnType<typeof processes>) => descendants(rootPart.pid, all).filter((p) => pidNamespace(p.pid) !== host);
      const cagesDirty = () => inCages(processes()).reduce((sum, p) => sum + memoryOf(p.pid).dirty, 0);
      const settled = await cagesSettled(DEFAULT_APP_WINDOWS, (level) => cageX11Dir(root, level), cagesDirty, STEADY_LIMIT_MS);
      const since = Date.now() - session.t0;
      log(
        `  load ${fmt(load, 1)} at the start, ${fmt(loadavg()[0]!, 1)} now; applications painted in their cages: ${Object.entries(painted).map(([k, v]) => `${k} ${v} ms`).join(', ')}; shown: high at ${high} ms, low again at ${low} ms; ` +
          `windows mapped ${settled.mappedMs} ms later; the cages' private dirty ${settled.steadyMs === null ? `NOT steady within ${STEADY_LIMIT_MS / 1000} s` : `steady (within ${STEADY_MIB} MiB or 1 % over ${STEADY_MS / 1000} s) ${settled.steadyMs} ms later`}, read at ${since} ms; ` +
          `its samples (MiB, one a second): ${settled.samples.map((m) => fmt(m, 0)).join(' ')}`,
      );
      const all = processes();
      const zero = () => ({ trusted: 0, helpers: 0, cages: 0 });
      const result: AppsMemoryResult = { pssMiB: zero(), rssMiB: zero(), ussMiB: zero(), dirtyMiB: zero(), ownPssMiB: zero(), processes: { trusted: {}, helpers: {}, cages: {} }, load, readAtMs: since, cagesSteadyMs: settled.steadyMs };
      const add = (side: Side, p: { pid: number; cmd: string }) => {
        const m = memoryOf(p.pid);
        const type = /--type=(\S+)/.exec(p.cmd)?.[1];
        result.processes[side][`${processName(p.cmd)}${type ? ` ${type}` : ''}${type === 'renderer' ? rendererId(p.cmd) : ''} (${p.pid})`] = m;
        result.pssMiB[side] += m.pss;
        result.rssMiB[side] += m.rss;
        result.ussMiB[side] += m.uss;
        result.dirtyMiB[side] += m.dirty;
        result.ownPssMiB[side] += m.own;
      };
      add('trusted', all.find((p) => p.pid === session.start.pid)!); // npm start itself (start.mjs)
      for (const p of descendants(shell.pid, all)) add('trusted', p);
      // Under the root part: its Node processes (itself, the cloison part, the browser and sound
      // parts) and card proxies are trusted; other host processes helpers; a cage's, the cages'.
      for (const p of descendants(rootPart.pid, all)) {
        if (pidNamespace(p.pid) !== host) add('cages', p);
        else add(processName(p.cmd).startsWith('node') || isCardProxy(p.cmd) ? 'trusted' : 'helpers', p);
      }
      log(`  ${rootPart.cmd.includes('cageManager.js') ? 'split (the cage manager and its cloison part)' : 'single (the root supervisor)'}: ${Object.keys(result.processes.trusted).filter((n) => n.startsWith('node')).join(', ')}`);
      // What the Node parts' V8 flags cost in CPU over the same start (their own, not their children's).
      const nodeParts = [session.start.pid!, ...descendants(rootPart.pid, all).filter((p) => pidNamespace(p.pid) === host && processName(p.cmd).startsWith('node')).map((p) => p.pid)];
      log(`  the Node parts' own CPU since their start (s): ${nodeParts.map((pid) => `${processName(all.find((p) => p.pid === pid)!.cmd)} ${fmt(ownCpuSeconds(pid), 2)}`).join(', ')}`);
      for (const [name, by] of [['PSS', result.pssMiB], ['RSS', result.rssMiB], ['USS', result.ussMiB], ['private dirty', result.dirtyMiB], ['PSS without files (anon + shared memory)', result.ownPssMiB]] as const) {
        const { trusted, helpers, cages } = by;
        const total = trusted + helpers + cages;
        const share = (trusted + helpers) / total;
        log(`  ${name}: trusted side ${fmt(trusted, 0)} MiB (npm start, the Node parts, the shell), helpers ${fmt(helpers, 0)} MiB, cages ${fmt(cages, 0)} MiB; total ${fmt(total, 0)} MiB`);
        log(`  ${name} trusted / total: ${fmt((100 * trusted) / total, 1)} % without the helpers, ${fmt(100 * share, 1)} % with them (goal ≤ 25 %${name === 'PSS' ? `: ${share <= 0.25 ? 'met' : 'not met'}, ${fmt(share / 0.25, 2)}× the goal` : ', judged on PSS'})`);
      }
      for (const side of ['trusted', 'helpers', 'cages'] as const) {
        const list = Object.entries(result.processes[side]).sort((a, b) => b[1].pss - a[1].pss);
        log(`    ${side} (PSS/RSS/USS/private dirty/PSS without files MiB): ${list.map(([name, m]) => `${name} ${fmt(m.pss, 0)}/${fmt(m.rss, 0)}/${fmt(m.uss, 0)}/${fmt(m.dirty, 0)}/${fmt(m.own, 0)}`).join(', ')}`);
      }
      return result;
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
