/**
 * When `npm start` (with its window, as a user runs it) starts each of its programs: the shell's
 * Chromium, the cage manager, its part, each cage's Xvnc; then when the shell connected to each
 * cage (the part's journal: each ticket, each connection), and the CPU the shell's Chromium took until
 * then, its renderers apart (the shell page's among them, without DevTools attached, as a user runs
 * it). Read from each process's start time in /proc (its clock ticks since
 * boot, 10 ms), not from a sampling of its own: a process is timed from its start even if first
 * seen later. Not a benchmark (no reference, no goal): the order of npm start's own steps, which
 * appsStartProfile.ts, whose harness opens its own Chromium at once, cannot show.
 *
 *   xvfb-run -a node --import tsx bench/npmStartWindowSteps.ts   (as root; the cloison-shell-test account)
 *
 * Beside them, from the part's journal, each cage's start and run, and any `trace.*` fact a measuring
 * build writes (`step`, and `at` when the step was earlier than the fact), and the lines of the file
 * named by CLOISON_START_TRACE when a measuring start.mjs writes them (`<ms since 1970> <what>`).
 *
 * BENCH_RUNS=N: N starts one after the other, the load printed before each. BENCH_START_SCRIPTS="a.mjs b.mjs":
 * start scripts (in scripts/) alternated run by run, for an A/B of a change to start.mjs.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchPolicy } from './lib/shellSession';

const SHELL_USER = 'cloison-shell-test'; // made by scripts/setup.sh, as scripts/start.test.ts uses it
const TICK_MS = 10;

/** A process's start in clock ticks since boot, its parent, its CPU (ticks), and what it is (its program, Chromium's --app or --type). */
function proc(pid: number): { start: number; ppid: number; ticks: number; what: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/).filter(Boolean);
    const base = (argv[0] ?? '').replace(/^.*\//, '');
    const script = argv.find((a) => /\.(m?js|cjs)$/.test(a))?.replace(/^.*\//, '');
    const kind = argv.some((a) => a.startsWith('--app=')) ? ' --app (the shell\'s browser)' : (argv.find((a) => a.startsWith('--type='))?.replace('--type=', ' ') ?? '');
    return { start: Number(f[19]), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), what: `${base}${script && base.startsWith('node') ? ` ${script}` : ''}${kind}` };
  } catch {
    return null;
  }
}

async function oneStart(run: number, script: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'cloison-startwin-'));
  chmodSync(root, 0o711);
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  const loadBefore = load();
  const policy = benchPolicy(root);
  const t0 = Date.now();
  const traceFile = join(root, 'start-trace');
  const child = spawn(process.execPath, [script, '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, SUDO_USER: SHELL_USER, CLOISON_START_TRACE: traceFile } });
  const rootStart = proc(child.pid!)?.start;
  const firsts = new Map<string, number>();
  const ours = new Set<number>([child.pid!]);
  /** Each of our processes' CPU at its last sight (ticks), its start and what it is: the CPU until connected. */
  const cpu = new Map<number, { ticks: number; start: number; what: string }>();
  const journal = join(root, 's-broker', 'audit.jsonl');
  const connects = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"kind":"vnc.connect"')) : []);
  const deadline = Date.now() + 120_000;
  try {
    while (Date.now() < deadline && connects().length < 2 && child.exitCode === null) {
      const all = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
      const info = new Map(all.map((pid) => [pid, proc(pid)] as const));
      for (let grown = true; grown; ) {
        grown = false;
        for (const [pid, p] of info) if (p && !ours.has(pid) && ours.has(p.ppid)) grown = ours.add(pid) !== null;
      }
      for (const pid of ours) {
        const p = info.get(pid);
        if (!p || rootStart === undefined) continue;
        const at = (p.start - rootStart) * TICK_MS;
        cpu.set(pid, { ticks: p.ticks, start: at, what: p.what });
        if (!firsts.has(p.what) || firsts.get(p.what)! > at) firsts.set(p.what, at);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const steps = [...firsts].filter(([what]) => /--app|cageManager|cloisonPart|browserPart|Xvnc|setpriv|bwrap/.test(what)).map(([what, at]) => ({ at, what: `started: ${what}` }));
    for (const line of connects()) {
      const { time, level } = JSON.parse(line) as { time: string; level: string };
      steps.push({ at: Date.parse(time) - t0, what: `the shell connected to ${level} (vnc.connect)` });
    }
    for (const line of readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"kind":"vnc.ticket"'))) {
      const { time, level } = JSON.parse(line) as { time: string; level: string };
      steps.push({ at: Date.parse(time) - t0, what: `a ticket for ${level} (vnc.ticket)` });
    }
    for (const line of readFileSync(journal, 'utf8').split('\n').filter((l) => /"kind":"(trace\.|cage\.(starting|running))/.test(l))) {
      const { time, kind, step, level, at } = JSON.parse(line) as { time: string; kind: string; step?: string; level?: string; at?: string };
      steps.push({ at: Date.parse(at ?? time) - t0, what: `journal: ${kind} ${step ?? level ?? ''}` });
    }
    if (existsSync(traceFile)) {
      for (const line of readFileSync(traceFile, 'utf8').split('\n').filter(Boolean)) {
        const [at, ...what] = line.split(' ');
        steps.push({ at: Number(at) - t0, what: `start.mjs: ${what.join(' ')}` });
      }
    }
    console.log(`\nrun ${run}, ${script} (load ${loadBefore} → ${load()}), ms after npm start:`);
    for (const s of steps.sort((a, b) => a.at - b.at)) console.log(`${String(s.at).padStart(7)}  ${s.what}`);
    // The shell's Chromium until both viewers connected (sampled every 50 ms): its renderers in the
    // order they started — with npm start's window, the launch page's, the shell page's, then the viewers'.
    const chromium = [...cpu.values()].filter((p) => p.what.startsWith('chromium')).sort((a, b) => a.start - b.start);
    const renderers = chromium.filter((p) => p.what.endsWith(' renderer')).map((p) => ((p.ticks * TICK_MS) / 1000).toFixed(2));
    const total = chromium.reduce((sum, p) => sum + p.ticks, 0);
    console.log(`  the shell's Chromium's CPU until connected: ${((total * TICK_MS) / 1000).toFixed(2)} s; its renderers by start (launch page, shell page, viewers…): ${renderers.join(' / ') || '–'} s`);
    const rendererStarts = chromium.filter((p) => p.what.endsWith(' renderer')).map((p) => p.start);
    console.log(`  its renderers started at (ms after npm start, 10 ms ticks): ${rendererStarts.join(' / ') || '–'}`);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  }
}

const runs = Number(process.env.BENCH_RUNS ?? 1);
const scripts = (process.env.BENCH_START_SCRIPTS ?? 'scripts/start.mjs').split(' ').filter(Boolean);
for (let i = 1; i <= runs; i++) await oneStart(i, scripts[(i - 1) % scripts.length]!);
