/**
 * Start-up: `npm start -- --no-window` until both cages have painted their first frame in the
 * shell (Chromium), with the resident memory of the supervisor, the shell and each cage. Measured
 * as a user starts every day, on the state folder of an earlier start (the homes' images made
 * then); that first start is printed too. The
 * reference, in the same run, is the floor: the same two Xvnc sessions started bare (no sandbox,
 * no supervisor, no shell) until they answer RFB.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from '@playwright/test';
import { probeRfb } from '../supervisor/cages/rfbProbe';
import { testRoot } from '../supervisor/testing/realCage';
import { processes, rssMiB, treeRootWith } from './lib/processCpu';
import { fmt, median } from './lib/stats';

const RUNS = 3;

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
  bareMs: number[];
  rss: { supervisor: number; shell: number; cages: Record<string, number>; bareXvnc: number; processes: Record<string, Array<{ name: string; rssMiB: number }>> };
  /** Milliseconds from the start to each step, per run. */
  phases: Array<Record<string, number>>;
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
 * moment, the page opened as soon as the supervisor listens — the cages start meanwhile.
 */
async function cloisonOnce(root: string, measureMemory: boolean): Promise<{ ms: number; phases: Record<string, number>; rss?: StartupResult['rss'] extends infer R ? Omit<R, 'bareXvnc'> : never }> {
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const start = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const marker = `--cloison-bench-${process.pid}-${t0}`;
  const launching = chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] }).then(async (b) => {
    const page = await b.newPage({ viewport: { width: 1280, height: 800 } });
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
  phases['supervisor listening'] = Date.now() - t0;
  const { browser, page } = await launching;
  try {
    await page.goto(url, { waitUntil: 'commit' });
    phases['shell page requested'] = Date.now() - t0;
    await page.getByTestId('band-level-name').waitFor();
    phases['band drawn'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-low][data-viewer=connecting], [data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 60_000 });
    phases['low viewer connecting'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 60_000 });
    phases['low painted'] = Date.now() - t0;
    await page.locator('[data-testid=cage-frame-high][data-viewer=connected]').waitFor({ state: 'attached', timeout: 60_000 });
    const ms = Date.now() - t0;
    phases['high painted'] = ms;
    if (!measureMemory) return { ms, phases };
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
    return { ms, phases, rss: { supervisor: rssMiB(supervisor.pid), shell: treeRss(shell, all), cages, processes: each } };
  } finally {
    await browser.close();
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
  const bareMs: number[] = [];
  const phases: Array<Record<string, number>> = [];
  let rss: StartupResult['rss'] | null = null;
  let bareRss = 0;
  const root = testRoot('cloison-bench-start-');
  try {
    const first = await cloisonOnce(root, false);
    for (let i = 0; i < RUNS; i++) {
      const c = await cloisonOnce(root, i === RUNS - 1);
      cloisonMs.push(c.ms);
      phases.push(c.phases);
      if (c.rss) rss = { ...c.rss, bareXvnc: 0 };
      const b = await bareOnce();
      bareMs.push(b.ms);
      bareRss = b.rss;
    }
    rss!.bareXvnc = bareRss;
    log(`  npm start → both cages painted in the shell, homes kept from an earlier start: median ${fmt(median(cloisonMs), 0)} ms (runs ${cloisonMs.join(', ')}); two bare Xvnc answering RFB: ${fmt(median(bareMs), 0)} ms`);
    log(`  the very first start on a new state folder (each home image made): ${first.ms} ms`);
    for (const step of Object.keys(phases[0]!)) log(`    ${step}: median ${fmt(median(phases.map((p) => p[step] ?? NaN)), 0)} ms`);
    log(`  RSS: supervisor ${fmt(rss!.supervisor, 0)} MiB, shell (Chromium) ${fmt(rss!.shell, 0)} MiB, cages ${Object.entries(rss!.cages).map(([l, m]) => `${l} ${fmt(m, 0)} MiB`).join(', ')}; two bare Xvnc ${fmt(bareRss, 0)} MiB`);
    for (const [tree, list] of Object.entries(rss!.processes)) log(`    ${tree}: ${list.map((p) => `${p.name} ${fmt(p.rssMiB, 0)}`).join(', ')} (MiB)`);
    return { firstMs: first.ms, cloisonMs, bareMs, phases, rss: rss! };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
