/**
 * Start → both cages painted, split (#29) against root, in the same run: `npm start -- --no-window`
 * (the root supervisor) and `npm start -- --no-window --split` (the root cage manager, the
 * supervisor its `cloison` part, the gateway in the part's browser child fed by the descriptors the
 * manager hands over), taking turns — several pairs, which of the two goes first alternating from
 * pair to pair, the load printed at each start (the machine is shared). Each start is read as
 * apps-start reads it (lib/paintWatch.ts): the shell in Chromium with npm start's flags, each
 * cage's first full frame in it (the level in the back shown by a switch to it), the default
 * policy's applications autostarted (they share the cores with the start); the applications' own
 * paint is not waited for. Every start is a first start, on new homes (256 MiB images made).
 *
 * Goal (#29): the split start at most 10 % slower than the root one (median of the pairs' ratios ≤ 1.10).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { testRoot } from '../supervisor/testing/realCage';
import { watchStart } from './lib/paintWatch';
import { benchPolicy, cageX11Dir, openShellSession, useSplitSupervisor } from './lib/shellSession';
import { fmt, median } from './lib/stats';

/** Pairs (one root start and one split start each); BENCH_PAIRS to change. */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 4);
const LIMIT_MS = 120_000;
const POLL_MS = 100;
const LEVELS = ['low', 'high'] as const;

type Mode = 'root' | 'split';

export interface SplitStartRun {
  mode: Mode;
  /** Start → both cages' first full frame in the shell, ms. */
  cagesMs: number;
  /** Each level's first full frame, ms from the start. */
  cageFrame: Record<string, number>;
  /** Start → the shell's address printed (the supervisor, or split the part, listening), ms. */
  listeningMs: number;
  /** The load average (1 min) at the start. */
  load: number;
  /** From the start's log, ms from the start: the manager's own start of each cage and the part started (split), each cage running, the part's cage.start taking a cage the manager started. */
  milestones: Record<string, number>;
}

/** What the start's log says when, in ms from `t0` (each message's first time; a cage's per level). */
function milestonesOf(logFile: string, t0: number): Record<string, number> {
  const named: Record<string, string> = { 'cage started before the part asks': 'started by the manager', 'cloison part started': 'part started', 'cage running': 'running', 'the part\'s cage.start takes the cage the manager started': 'taken by the part' };
  const out: Record<string, number> = {};
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    let entry: { time?: unknown; msg?: unknown; level?: unknown };
    try {
      entry = JSON.parse(line.slice(line.indexOf('{'))) as typeof entry;
    } catch {
      continue;
    }
    const name = named[String(entry.msg)];
    const at = typeof entry.time === 'string' ? Date.parse(entry.time) : typeof entry.time === 'number' ? entry.time : NaN;
    if (!name || Number.isNaN(at)) continue;
    const key = typeof entry.level === 'string' ? `${entry.level} ${name}` : name;
    out[key] ??= at - t0;
  }
  return out;
}

export interface SplitStartResult {
  runs: SplitStartRun[];
  /** Per pair with both starts painted: split / root. */
  pairRatios: number[];
  /** Starts that did not paint both cages within the limit. */
  failures: Array<{ pair: number; mode: Mode; reason: string }>;
}

async function startOnce(root: string, mode: Mode): Promise<SplitStartRun> {
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o711); // split, the part (cloison) reaches its folders and the policy in it
  const load = loadavg()[0]!;
  useSplitSupervisor(mode === 'split');
  const logFile = join(root, 'start.log');
  const session = await openShellSession(root, benchPolicy(root), undefined, logFile);
  try {
    const paints = await watchStart({ page: session.page, t0: session.t0, levels: LEVELS, x11DirOf: (level) => cageX11Dir(root, level), limitMs: LIMIT_MS, pollMs: POLL_MS, until: 'cages' });
    return { mode, cagesMs: Math.max(...LEVELS.map((l) => paints.cageFrame[l]!)), cageFrame: paints.cageFrame, listeningMs: session.listeningMs, load, milestones: milestonesOf(logFile, session.t0) };
  } finally {
    await session.close();
  }
}

export async function runSplitStartBench(log: (s: string) => void): Promise<SplitStartResult> {
  const result: SplitStartResult = { runs: [], pairRatios: [], failures: [] };
  const root = testRoot('cloison-bench-split-start-');
  chmodSync(root, 0o711);
  try {
    for (let pair = 0; pair < PAIRS; pair++) {
      const order: Mode[] = pair % 2 === 0 ? ['root', 'split'] : ['split', 'root'];
      const byMode: Partial<Record<Mode, SplitStartRun>> = {};
      for (const mode of order) {
        try {
          const run = await startOnce(join(root, `pair${pair}-${mode}`), mode);
          byMode[mode] = run;
          result.runs.push(run);
          log(`  pair ${pair + 1}, ${mode} (load ${fmt(run.load, 1)}): both cages painted ${run.cagesMs} ms (low ${run.cageFrame.low}, high ${run.cageFrame.high}); the shell's address printed ${run.listeningMs} ms; log: ${Object.entries(run.milestones).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        } catch (err) {
          // Said and counted, not hidden: the pair then has no ratio.
          result.failures.push({ pair, mode, reason: (err as Error).message });
          log(`  pair ${pair + 1}, ${mode} (load ${fmt(loadavg()[0]!, 1)}): FAILED: ${(err as Error).message}`);
        }
      }
      if (!byMode.split || !byMode.root) continue;
      const ratio = byMode.split.cagesMs / byMode.root.cagesMs;
      result.pairRatios.push(ratio);
      log(`  pair ${pair + 1}: split / root ${fmt(ratio, 2)}`);
    }
    const of = (mode: Mode) => result.runs.filter((r) => r.mode === mode);
    const ratio = median(result.pairRatios);
    log(`  npm start → both cages painted: root median ${fmt(median(of('root').map((r) => r.cagesMs)) / 1000, 2)} s, split median ${fmt(median(of('split').map((r) => r.cagesMs)) / 1000, 2)} s`);
    log(`  split / root, median of the pairs' ratios: ${fmt(ratio, 2)} (goal ≤ 1.10: ${ratio <= 1.1 ? 'met' : 'not met'}); pairs ${result.pairRatios.map((r) => fmt(r, 2)).join(', ')}`);
    if (result.failures.length) log(`  starts that failed: ${result.failures.map((f) => `pair ${f.pair + 1} ${f.mode}`).join(', ')}`);
    log(`  the shell's address printed: root median ${fmt(median(of('root').map((r) => r.listeningMs)), 0)} ms, split ${fmt(median(of('split').map((r) => r.listeningMs)), 0)} ms; load average at the starts ${result.runs.map((r) => fmt(r.load, 1)).join(', ')}`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
