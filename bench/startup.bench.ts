/**
 * Start-up: `npm start -- --no-window` until both cages' viewers in the shell are connected (noVNC's
 * "connected": the cage's ServerInit read, its first frame next — a hidden viewer draws it only when
 * shown; apps-start times the first full frames and the applications) in the
 * shell (Chromium, opened at once on start.mjs's waiting page), with the resident memory of the supervisor, the shell and each cage. Measured
 * as a user starts every day, on the state folder of an earlier start (the homes' images made
 * then); that first start is printed too. The
 * reference, in the same run, is the floor: the same two Xvnc sessions started bare (no sandbox,
 * no supervisor, no shell) until they answer RFB.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { chromium } from '@playwright/test';
import { createLaunchPage } from '../scripts/launchPage.mjs';
import { probeRfb } from '../supervisor/cages/rfbProbe';
import { testRoot } from '../supervisor/testing/realCage';
import { cpuSecondsByProcess, machineBusyMs, processes, rssMiB, treeRootWith } from './lib/processCpu';
import { fmt, median } from './lib/stats';

const RUNS = 5;

function treeRss(root: number, all = processes()): number {
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += rssMiB(pid) || 0;
    for (const p of all) if (p.ppid === pid) stack.push(p.pid);
  }
  return total;
}

export interface StartupResult {
  /** The first start on a new state folder: each cage's home image is made (mkfs) then. */
  firstMs: number;
  /** Every later start, homes kept: the start a user has every day. */
  cloisonMs: number[];
  /** The same start with npm start's own Chromium: until both viewers were admitted (journal). */
  productMs: number[];
  /** From admission to noVNC's "connected", in the driven runs (median). */
  productHandshakeGapMs: number;
  bareMs: number[];
  rss: { supervisor: number; shell: number; cages: Record<string, number>; bareXvnc: number; processes: Record<string, Array<{ name: string; rssMiB: number }>> };
  /** Milliseconds from the start to each step, per run. */
  phases: Array<Record<string, number>>;
  /** CPU milliseconds by process name until both viewers connected, per run. */
  cpu: Array<Record<string, Record<string, number>>>;
}

/** Each process of a tree: its command's name and resident memory. */
function treeProcesses(root: number, all: ReturnType<typeof processes>): Array<{ name: string; rssMiB: number }> {
  const out: Array<{ name: string; rssMiB: number }> = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = all.find((q) => q.pid === pid);
    const argv0 = p?.cmd.split(' ')[0] ?? '?';
    const type = /--type=(\S+)/.exec(p?.cmd ?? '')?.[1];
    out.push({ name: `${argv0.replace(/^.*\//, '')}${type ? ` (${type})` : ''}`, rssMiB: rssMiB(pid) || 0 });
    for (const q of all) if (q.ppid === pid) stack.push(q.pid);
  }
  return out;
}

/**
 * One start, as the product starts: the supervisor (npm start) and the shell's browser at the same
 * moment, the browser on start.mjs's own waiting page, which sends it on to the shell as soon as
 * the supervisor listens — the cages start meanwhile.
 */
async function cloisonOnce(root: string, measureMemory: boolean): Promise<{ ms: number; phases: Record<string, number>; cpu: StartupResult['cpu'][number]; rss?: StartupResult['rss'] extends infer R ? Omit<R, 'bareXvnc'> : never }> {
  const t0 = Date.now();
  const busy0 = machineBusyMs();
  const phases: Record<string, number> = {};
  const start = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const marker = `--cloison-bench-${process.pid}-${t0}`;
  const launch = createLaunchPage(root);
  const launching = chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] }).then(async (b) => {
    const page = await b.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(pathToFileURL(launch.path).href, { waitUntil: 'commit' });
    phases['browser up'] = Date.now() - t0;
    return { browser: b, page };
  });
  const url = await new Promise<string>((resolve) =>
    createInterface({ input: start.stdout! }).on('line', (l) => {
      const m = /the shell is at (\S+)/.exec(l);
      if (m) resolve(m[1]!);
      if (/cage high:/.test(l)) phases['supervisor ready (cages started)'] = Date.now() - t0;
    }),
  );
  launch.go(url);
  phases['supervisor listening'] = Date.now() - t0;
  const { browser, page } = await launching;
  try {
    await page.waitForURL((u) => u.protocol === 'http:', { waitUntil: 'commit' });
    phases['shell page requested'] = Date.now() - t0;
    await page.getByTestId('band-level-name').waitFor();
    phases['band drawn'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-low][data-viewer=connecting], [data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 60_000 });
    phases['low viewer connecting'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 60_000 });
    phases['low viewer connected (ServerInit)'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-high][data-viewer=connected]').waitFor({ state: 'attached', timeout: 60_000 });
    const ms = Date.now() - t0;
    phases['high viewer connected (ServerInit)'] = ms;
    phases['both viewers admitted (journal)'] = bothAdmittedAt(join(root, 's', 'audit.jsonl'), t0) ?? NaN;
    // Not a step: the CPU time the whole machine spent meanwhile (two cores: at most 2 × ms).
    phases['machine CPU busy, all processes'] = machineBusyMs() - busy0;
    // Where that CPU went: start.mjs's tree (the supervisor, the cages) and the shell's Chromium.
    const cpuMs = (tree: Record<string, number>) => Object.fromEntries(Object.entries(tree).map(([name, s]) => [name, Math.round(s * 1000)]).filter(([, v]) => Number(v) > 0));
    const cpu = { 'npm start (supervisor, cages)': cpuMs(cpuSecondsByProcess(start.pid!)), shell: cpuMs(cpuSecondsByProcess(treeRootWith(marker)!)) };
    if (!measureMemory) return { ms, phases, cpu };
    await page.waitForTimeout(2000); // settle
    const all = processes();
    const supervisor = all.find((p) => p.ppid === start.pid && p.cmd.includes('supervisor/main.js'))!;
    const shell = treeRootWith(marker, all)!;
    const cages: Record<string, number> = {};
    const each: Record<string, Array<{ name: string; rssMiB: number }>> = { supervisor: treeProcesses(supervisor.pid, all), shell: treeProcesses(shell, all) };
    for (const p of all.filter((q) => q.ppid === supervisor.pid && q.cmd.includes('bwrap'))) {
      const level = /--hostname cloison-(\S+)/.exec(p.cmd)?.[1] ?? String(p.pid);
      cages[level] = treeRss(p.pid, all);
      each[`cage ${level}`] = treeProcesses(p.pid, all);
    }
    return { ms, phases, cpu, rss: { supervisor: rssMiB(supervisor.pid), shell: treeRss(shell, all), cages, processes: each } };
  } finally {
    await browser.close();
    start.kill('SIGINT');
    await new Promise((r) => start.once('exit', r));
  }
}

/** The account start.mjs runs the shell's Chromium as in the product-path runs (scripts/setup.sh makes it). */
const SHELL_USER = 'cloison-shell-test';

/** When the journal shows both cages' viewers admitted by the gateway since t0 (ms from t0), or null. */
function bothAdmittedAt(journal: string, t0: number): number | null {
  if (!existsSync(journal)) return null;
  const times = readFileSync(journal, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"vnc.connect"'))
    .map((l) => Date.parse((JSON.parse(l) as { time: string }).time))
    .filter((t) => t >= t0);
  return times.length >= 2 ? Math.max(...times.slice(0, 2)) - t0 : null;
}

/**
 * One start exactly as `sudo npm start` runs it: start.mjs opens its own Chromium (headful --app,
 * sandboxed, as the shell's user) on its waiting page. Nothing drives that browser, so the end is
 * read from the journal: both viewers admitted by the gateway, one RFB handshake before noVNC's
 * "connected" (that gap is measured in the driven runs and added, see runStartupBench).
 */
async function productOnce(root: string): Promise<{ ms: number; busyMs: number }> {
  const t0 = Date.now();
  const busy0 = machineBusyMs();
  const start = spawn(process.execPath, ['scripts/start.mjs', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: 'ignore', env: { ...process.env, SUDO_USER: SHELL_USER } });
  const journal = join(root, 's', 'audit.jsonl');
  try {
    for (const deadline = t0 + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
      const ms = bothAdmittedAt(journal, t0);
      if (ms !== null) return { ms, busyMs: machineBusyMs() - busy0 };
    }
    throw new Error('npm start: the shell did not open both cages within 60 s');
  } finally {
    start.kill('SIGINT');
    await new Promise((r) => start.once('exit', r));
  }
}

async function bareOnce(): Promise<{ ms: number; rss: number }> {
  const root = testRoot('cloison-bench-bare-');
  const t0 = Date.now();
  const servers = [0, 1].map((i) =>
    spawn('Xvnc', [`:${90 + i}`, '-rfbunixpath', join(root, `vnc${i}.sock`), '-rfbport', '-1', '-SecurityTypes', 'None', '-nolisten', 'tcp', '-geometry', '1024x640', '-depth', '24'], { stdio: 'ignore' }),
  );
  try {
    await Promise.all(
      [0, 1].map(async (i) => {
        for (;;) {
          try {
            await probeRfb({ path: join(root, `vnc${i}.sock`) }, 500);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }),
    );
    const ms = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
    return { ms, rss: servers.reduce((sum, s) => sum + rssMiB(s.pid!), 0) };
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => s.once('exit', r))));
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runStartupBench(log: (s: string) => void): Promise<StartupResult> {
  const cloisonMs: number[] = [];
  const productMs: number[] = [];
  const productBusyMs: number[] = [];
  const bareMs: number[] = [];
  const productPath = !process.env.DISPLAY ? 'no display (run under xvfb-run)' : spawnSync('id', ['-u', SHELL_USER]).status !== 0 ? `no ${SHELL_USER} account (scripts/setup.sh makes it)` : null;
  const phases: Array<Record<string, number>> = [];
  const cpu: StartupResult['cpu'] = [];
  let rss: StartupResult['rss'] | null = null;
  let bareRss = 0;
  const root = testRoot('cloison-bench-start-');
  try {
    const first = await cloisonOnce(root, false);
    for (let i = 0; i < RUNS; i++) {
      const c = await cloisonOnce(root, i === RUNS - 1);
      cloisonMs.push(c.ms);
      phases.push(c.phases);
      cpu.push(c.cpu);
      if (c.rss) rss = { ...c.rss, bareXvnc: 0 };
      if (!productPath) {
        const p = await productOnce(root);
        productMs.push(p.ms);
        productBusyMs.push(p.busyMs);
      }
      const b = await bareOnce();
      bareMs.push(b.ms);
      bareRss = b.rss;
    }
    rss!.bareXvnc = bareRss;
    log(`  npm start → both cages' viewers connected in the shell (ServerInit read), homes kept from an earlier start: median ${fmt(median(cloisonMs), 0)} ms (runs ${cloisonMs.join(', ')}); two bare Xvnc answering RFB: ${fmt(median(bareMs), 0)} ms`);
    log(`  the very first start on a new state folder (each home image made): ${first.ms} ms`);
    // The product's own path: its Chromium is not driven, so its end is the journal's admission of
    // both viewers plus the gap from admission to noVNC's "connected" measured in the driven runs.
    const handshakeGap = median(phases.map((p) => p['high viewer connected (ServerInit)']! - p['both viewers admitted (journal)']!));
    if (productPath) log(`  as npm start runs it (its own Chromium): not measured, ${productPath}`);
    else log(`  as npm start runs it (its own Chromium, headful --app, sandboxed as ${SHELL_USER}): both viewers admitted median ${fmt(median(productMs), 0)} ms (runs ${productMs.join(', ')}), + ${fmt(handshakeGap, 0)} ms to connected (the driven runs' gap) = ${fmt(median(productMs) + handshakeGap, 0)} ms; machine CPU busy median ${fmt(median(productBusyMs), 0)} ms`);
    for (const step of Object.keys(phases[0]!)) log(`    ${step}: median ${fmt(median(phases.map((p) => p[step] ?? NaN)), 0)} ms`);
    const busyShare = median(phases.map((p) => p['machine CPU busy, all processes']! / (cpus().length * p['high viewer connected (ServerInit)']!)));
    log(`  the machine's cores were busy ${fmt(100 * busyShare, 0)} % of the start (median): ${busyShare > 0.9 ? 'CPU-bound, only less work shortens it' : 'not CPU-bound'}`);
    log(`  RSS: supervisor ${fmt(rss!.supervisor, 0)} MiB, shell (Chromium) ${fmt(rss!.shell, 0)} MiB, cages ${Object.entries(rss!.cages).map(([l, m]) => `${l} ${fmt(m, 0)} MiB`).join(', ')}; two bare Xvnc ${fmt(bareRss, 0)} MiB`);
    for (const [tree, list] of Object.entries(rss!.processes)) log(`    ${tree}: ${list.map((p) => `${p.name} ${fmt(p.rssMiB, 0)}`).join(', ')} (MiB)`);
    const last = cpu[cpu.length - 1]!;
    for (const [tree, byName] of Object.entries(last)) log(`    CPU until connected, ${tree} (last run): ${Object.entries(byName).map(([name, ms]) => `${name} ${ms}`).join(', ')} (ms)`);
    return { firstMs: first.ms, cloisonMs, productMs, productHandshakeGapMs: handshakeGap, bareMs, phases, cpu, rss: rss! };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
