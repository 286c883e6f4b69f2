/**
 * Start → both cages painted with the default applications: `npm start` with the default policy
 * (Firefox ESR autostarted in low, LibreOffice Writer in high; 256 MiB homes) and its own window,
 * as a user runs it (its Chromium with its flags and sandbox, as the shell's user, no DevTools, no
 * Playwright), on the benchmark's X display. Three moments, each printed with the 2.0 s goal beside
 * it, read from outside the shell (lib/windowWatch.ts, lib/paintWatch.ts):
 *
 * - both cages painted: each cage's first full frame in the shell's window (the display's pixels
 *   over the viewer's area no longer the shell's waiting look; the level in the back brought to
 *   the front with the shell's shortcut typed on the display: a hidden level is not shown — its viewer
 *   decodes its first screen only while hidden);
 * - the applications' windows painted in their cages (their X servers' framebuffers);
 * - the applications' windows seen in the shell's window (each level brought to the front once its
 *   application has painted).
 *
 * BENCH_WINDOW_TRACE=PREFIX: every reading of the window written to PREFIX-RUN.json (ms from the start).
 * BENCH_SHELL=playwright: the earlier reading instead — `npm start --no-window` and a Chromium
 * Playwright launches with npm start's flags (no sandbox, DevTools attached), each viewer's canvas
 * read through the page every 100 ms (lib/shellSession.ts); it costs that Chromium more CPU than
 * npm start's own (bench/RESULTS.md). BENCH_SHELL=both: both in each run, their order alternated,
 * the window's the figure, the Playwright one printed beside it.
 *
 * References in the same run: two bare Xvnc answering RFB (the floor of any VNC desktop, beside the
 * first), and two bare Xvnc with the same two applications started directly on them (no sandbox,
 * no supervisor, no shell, no window manager), read from their framebuffers the same way (beside
 * the second and third).
 *
 * Every run is a first start, on new homes (Cloison's 256 MiB images made, the applications'
 * profiles made) on both sides: a start on the homes of an earlier one does not paint Writer, whose
 * process was killed with its cage and opens LibreOffice's Document Recovery dialog instead.
 * `BENCH_START=again` (Playwright reading only): the state folder holds the screen size a first start leaves (lib/shellSession.ts).
 * As npm start runs it: the split (the root cage manager, the supervisor as its `cloison` part);
 * `BENCH_SPLIT=0` for `--single`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { probeRfb } from '../supervisor/cages/rfbProbe';
import { testRoot } from '../supervisor/testing/realCage';
import { machineBusyMs } from './lib/processCpu';
import { PAINTED_SHARE, watchStart, xLightShare, type StartPaints } from './lib/paintWatch';
import { openProductSession, productPathMissing } from './lib/productSession';
import { benchPolicy, cageX11Dir, openShellSession, staleRememberedScreen, startAgain, useNpmStartMode } from './lib/shellSession';
import { watchStartInWindow, windowReaderMissing, type WindowReading } from './lib/windowWatch';
import { fmt, median } from './lib/stats';

/** Three runs by default; BENCH_RUNS=1 for a quick look while profiling. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LIMIT_MS = 180_000;
const GEOMETRY = '1280x768';
/** How often each side looks at its screens (both take a little CPU from the start they measure). */
const POLL_MS = 100;
/** How often the shell's window is read (a dozen one-pixel rows of the display each time). */
const WINDOW_MS = 50;
/** The default policy's level colours: the frame's border names the level in front. */
const COLOURS = { low: '#1b7f3b', high: '#b3261e' };
/** Which reading: npm start's own window (the issue's), the Playwright-driven Chromium, or both alternated. */
const SHELL = (process.env.BENCH_SHELL ?? 'window') as 'window' | 'playwright' | 'both';
/** The applications the default policy autostarts, as the reference starts them. */
const APPS = { low: ['firefox-esr'], high: ['libreoffice', '--writer'] };
/** The bare reference's applications run as nobody, as a cage's run as its own uid. */
const NOBODY = 65534;

const LEVELS = ['low', 'high'] as const;

export interface AppsStartResult {
  /** Start → both cages' first full frame in the shell, ms, each run. */
  cagesMs: number[];
  /** Start → both applications painted in their cages, ms, each run. */
  appsInCageMs: number[];
  /** Start → both applications seen in the shell, ms, each run. */
  appsInShellMs: number[];
  /** Per run: each level's moments and the supervisor's listening, ms from the start. */
  paints: Array<StartPaints & { listeningMs: number }>;
  bareXvncMs: number[];
  bareAppsMs: number[];
  /** Each bare application's own paint (ms from its Xvnc's start), by level, each run. */
  bareAppMs: Array<Record<string, number>>;
  busyShare: number[];
  /** The load average (1 min) at each run's start: the machine is shared. */
  load: number[];
  /** Which reading the figures above are: npm start's window, or (BENCH_SHELL=playwright) the driven Chromium. */
  reading: 'window' | 'playwright';
  /** BENCH_SHELL=both: the Playwright reading of each run, beside the window's. */
  playwright?: { cagesMs: number[]; appsInCageMs: number[]; appsInShellMs: number[]; paints: Array<StartPaints & { listeningMs: number }>; load: number[] };
}

/** One start as a user runs it: npm start with its window, read from the display (listeningMs: not known, -1). */
async function windowOnce(root: string, policy: string, split: boolean, traceFile?: string): Promise<{ paints: StartPaints & { listeningMs: number }; busy: number; window: string; samplerCpuMs: number; readings: number }> {
  const busy0 = machineBusyMs();
  const session = openProductSession(root, policy, { split });
  const trace: WindowReading[] = [];
  try {
    const { window, readings, samplerCpuMs, ...paints } = await watchStartInWindow({ t0: session.t0, levels: LEVELS, colours: COLOURS, x11DirOf: (level) => cageX11Dir(root, level), limitMs: LIMIT_MS, pollMs: POLL_MS, periodMs: WINDOW_MS, alive: () => session.start.exitCode === null, trace });
    if (traceFile) writeFileSync(traceFile, JSON.stringify(trace.map((r) => ({ ...r, t: Math.round(r.t - session.t0) }))));
    const ms = Math.max(...Object.values(paints.appInShell));
    return { paints: { ...paints, listeningMs: -1 }, busy: (machineBusyMs() - busy0) / (cpus().length * ms), window, samplerCpuMs, readings };
  } finally {
    await session.close();
  }
}

/** One start read the earlier way: npm start --no-window and a Chromium Playwright drives (lib/shellSession.ts). */
async function playwrightOnce(root: string, policy: string): Promise<{ paints: StartPaints & { listeningMs: number }; busy: number }> {
  const busy0 = machineBusyMs();
  const session = await openShellSession(root, policy);
  try {
    const paints = await watchStart({ page: session.page, t0: session.t0, levels: LEVELS, x11DirOf: (level) => cageX11Dir(root, level), limitMs: LIMIT_MS, pollMs: POLL_MS });
    const ms = Math.max(...Object.values(paints.appInShell));
    return { paints: { ...paints, listeningMs: session.listeningMs }, busy: (machineBusyMs() - busy0) / (cpus().length * ms) };
  } finally {
    await session.close();
  }
}

function startXvnc(root: string, i: number): { server: ChildProcess; socket: string; display: Promise<string> } {
  const socket = join(root, `vnc${i}.sock`);
  const server = spawn('Xvnc', ['-displayfd', '3', '-rfbunixpath', socket, '-rfbport', '-1', '-SecurityTypes', 'None', '-nolisten', 'tcp', '-geometry', GEOMETRY, '-depth', '24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const display = new Promise<string>((resolve) => createInterface({ input: server.stdio[3] as NodeJS.ReadableStream }).once('line', (n) => resolve(`:${n.trim()}`)));
  return { server, socket, display };
}

async function answering(socket: string): Promise<void> {
  for (;;) {
    try {
      await probeRfb({ path: socket }, 500);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Two bare Xvnc, and (withApps) the two applications on them, until each screen is painted. */
async function bareOnce(root: string, homes: string, withApps: boolean, each: Record<string, number> = {}): Promise<number> {
  const t0 = Date.now();
  const servers = [0, 1].map((i) => startXvnc(root, i));
  const apps: ChildProcess[] = [];
  let ended = false;
  try {
    if (!withApps) {
      await Promise.all(servers.map((s) => answering(s.socket)));
      return Date.now() - t0;
    }
    await Promise.all(
      [APPS.low, APPS.high].map(async (argv, i) => {
        const display = await servers[i]!.display;
        const home = join(homes, String(i));
        apps.push(spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, HOME: home, USER: 'nobody', LANG: 'fr_FR.UTF-8', DISPLAY: display }, uid: NOBODY, gid: NOBODY, stdio: 'ignore', detached: true }));
        for (const deadline = t0 + LIMIT_MS; xLightShare(display) < PAINTED_SHARE; await new Promise((r) => setTimeout(r, POLL_MS))) {
          if (ended) return;
          if (Date.now() > deadline) throw new Error(`bare ${argv[0]} did not paint within ${LIMIT_MS / 1000} s`);
        }
        each[LEVELS[i]!] = Date.now() - t0;
      }),
    );
    return Date.now() - t0;
  } finally {
    ended = true;
    for (const app of apps) {
      try {
        process.kill(-app.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const s of servers) s.server.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.server.exitCode !== null ? r(null) : s.server.once('exit', r)))));
  }
}

const worst = (byLevel: Record<string, number>) => Math.max(...LEVELS.map((l) => byLevel[l]!));
const seconds = (ms: number) => `${fmt(ms / 1000, 2)} s`;
const againstGoal = (ms: number) => `goal ≤ 2.0 s: ${ms <= 2000 ? 'met' : 'not met'}, ${fmt(ms / 2000, 2)}× the goal`;

export async function runAppsStartBench(log: (s: string) => void): Promise<AppsStartResult> {
  const reading = SHELL === 'playwright' ? 'playwright' : 'window';
  const result: AppsStartResult = { cagesMs: [], appsInCageMs: [], appsInShellMs: [], paints: [], bareXvncMs: [], bareAppsMs: [], bareAppMs: [], busyShare: [], load: [], reading };
  const split = useNpmStartMode();
  log(`  ${split ? 'split, as npm start runs it (the root cage manager, the supervisor as its cloison part)' : '--single (BENCH_SPLIT=0): the root supervisor alone'}`);
  log(
    reading === 'window'
      ? `  read from npm start's own window on the display (its Chromium, sandboxed, no DevTools)${SHELL === 'both' ? '; beside it (BENCH_SHELL=both) the Playwright-driven Chromium, the two alternated' : ''}`
      : '  read through a Chromium Playwright drives (BENCH_SHELL=playwright: no sandbox, DevTools attached)',
  );
  if (reading === 'window') {
    const missing = productPathMissing() ?? windowReaderMissing();
    if (missing) throw new Error(`npm start's window cannot be read here: ${missing} (BENCH_SHELL=playwright reads the driven Chromium)`);
    if (startAgain) log('  BENCH_START=again is for the Playwright reading only: these are first starts');
  }
  const other = SHELL === 'both' ? { cagesMs: [] as number[], appsInCageMs: [] as number[], appsInShellMs: [] as number[], paints: [] as AppsStartResult['paints'], load: [] as number[] } : undefined;
  if (other) result.playwright = other;
  const byLevel = (m: Record<string, number>) => LEVELS.map((l) => `${l} ${m[l]}`).join(', ');
  const describe = (p: StartPaints & { listeningMs: number }) =>
    `${p.listeningMs >= 0 ? `supervisor listening ${p.listeningMs} ms; ` : ''}first full frame in the shell ${byLevel(p.cageFrame)}; ` +
    `applications painted in their cages ${byLevel(p.appInCage)}, seen in the shell ${byLevel(p.appInShell)} (switches: ${p.switches.map((s) => `${s.to} at ${s.at}`).join(', ')})`;
  const root = testRoot('cloison-bench-apps-');
  try {
    // The reference's applications run as nobody, and split the part (cloison) reaches its folders: both inside the root.
    chmodSync(root, 0o711);
    for (let i = 0; i < RUNS; i++) {
      const run = join(root, `run${i}`);
      for (const j of [0, 1]) {
        mkdirSync(join(run, 'bare-homes', String(j)), { recursive: true });
        chownSync(join(run, 'bare-homes', String(j)), NOBODY, NOBODY);
      }
      chmodSync(run, 0o711);
      const loadNow = () => loadavg().map((l) => fmt(l, 1)).join(' ');
      const playwrightRun = async () => {
        const dir = join(run, 'playwright');
        mkdirSync(dir, { mode: 0o711 });
        chmodSync(dir, 0o711);
        log(`  run ${i + 1}, Playwright reading: load ${loadNow()}`);
        const load = loadavg()[0]!;
        const c = await playwrightOnce(dir, benchPolicy(dir));
        const stale = startAgain ? staleRememberedScreen(dir) : null;
        if (stale) log(`  the remembered screen size is stale (the supervisor resized to ${stale}): update REMEMBERED_SCREEN in bench/lib/shellSession.ts`);
        log(`  run ${i + 1}, Playwright reading (load ${fmt(load, 1)} at its start): ${describe(c.paints)}`);
        return { ...c, load };
      };
      const windowRun = async () => {
        const dir = join(run, 'window');
        mkdirSync(dir, { mode: 0o711 });
        chmodSync(dir, 0o711);
        log(`  run ${i + 1}, npm start's window: load ${loadNow()}`);
        const load = loadavg()[0]!;
        const c = await windowOnce(dir, benchPolicy(dir), split, process.env.BENCH_WINDOW_TRACE ? `${process.env.BENCH_WINDOW_TRACE}-${i + 1}.json` : undefined);
        log(`  run ${i + 1}, npm start's window (${c.window}; load ${fmt(load, 1)} at its start): ${describe(c.paints)}; the window read ${c.readings} times, the reader's CPU ${c.samplerCpuMs} ms`);
        return { ...c, load };
      };
      const keep = (into: { cagesMs: number[]; appsInCageMs: number[]; appsInShellMs: number[]; paints: AppsStartResult['paints']; load: number[] }, c: { paints: StartPaints & { listeningMs: number }; load: number }) => {
        into.paints.push(c.paints);
        into.cagesMs.push(worst(c.paints.cageFrame));
        into.appsInCageMs.push(worst(c.paints.appInCage));
        into.appsInShellMs.push(worst(c.paints.appInShell));
        into.load.push(c.load);
      };
      if (other && i % 2 === 1) keep(other, await playwrightRun());
      const c = reading === 'window' ? await windowRun() : await playwrightRun();
      keep(result, c);
      result.busyShare.push(c.busy);
      if (other && i % 2 === 0) keep(other, await playwrightRun());
      log(`  run ${i + 1}, the references: load ${loadNow()}`);
      const each: Record<string, number> = {};
      result.bareAppsMs.push(await bareOnce(run, join(run, 'bare-homes'), true, each));
      result.bareAppMs.push(each);
      result.bareXvncMs.push(await bareOnce(run, join(run, 'bare-homes'), false));
      log(`  run ${i + 1}: bare Xvnc + applications ${result.bareAppsMs[i]} ms (${byLevel(each)}), bare Xvnc ${result.bareXvncMs[i]} ms`);
    }
    const [cages, inCage, inShell] = [median(result.cagesMs), median(result.appsInCageMs), median(result.appsInShellMs)];
    const [bareXvnc, bareApps] = [median(result.bareXvncMs), median(result.bareAppsMs)];
    log(`  ${startAgain ? 'a start after the first (the screen size remembered)' : "a first start (no screen size remembered)"}`);
    const where = reading === 'window' ? "npm start's window" : 'the Playwright-driven Chromium';
    log(`  npm start → both cages painted (each cage's first full frame in ${where}): median ${seconds(cages)} (${againstGoal(cages)}); two bare Xvnc answering RFB ${seconds(bareXvnc)} (${fmt(cages / bareXvnc, 1)}×)`);
    log(`  npm start → Firefox and Writer painted in their cages: median ${seconds(inCage)} (${againstGoal(inCage)}); two bare Xvnc with the same applications ${seconds(bareApps)} (${fmt(inCage / bareApps, 2)}×)`);
    log(`  npm start → Firefox and Writer seen in ${where}: median ${seconds(inShell)} (${againstGoal(inShell)}; ${fmt(inShell / bareApps, 2)}× the bare applications)`);
    if (other) {
      log(`  beside it, the Playwright reading of the same runs (order alternated): both cages painted median ${seconds(median(other.cagesMs))}, applications in their cages ${seconds(median(other.appsInCageMs))}, seen in its Chromium ${seconds(median(other.appsInShellMs))}; load at its starts ${other.load.map((l) => fmt(l, 1)).join(', ')}`);
    }
    log(`  the machine's cores were busy ${fmt(100 * median(result.busyShare), 0)} % of Cloison's starts (median; ${cpus().length} cores); load average at the runs' starts ${result.load.map((l) => fmt(l, 1)).join(', ')}`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
