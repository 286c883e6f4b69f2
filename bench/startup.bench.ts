/**
 * Start-up: `npm start -- --no-window` until both cages have painted their first frame in the
 * shell (Chromium), with the resident memory of the supervisor, the shell and each cage. The
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
import { processes, rssMiB } from './lib/processCpu';
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
  cloisonMs: number[];
  bareMs: number[];
  rss: { supervisor: number; shell: number; cages: Record<string, number>; bareXvnc: number };
}

async function cloisonOnce(measureMemory: boolean): Promise<{ ms: number; rss?: StartupResult['rss'] extends infer R ? Omit<R, 'bareXvnc'> : never }> {
  const root = testRoot('cloison-bench-start-');
  const t0 = Date.now();
  const start = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve) =>
    createInterface({ input: start.stdout! }).on('line', (l) => {
      const m = /the shell is at (\S+)/.exec(l);
      if (m) resolve(m[1]!);
    }),
  );
  const marker = `--cloison-bench-${process.pid}-${t0}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--no-first-run', marker] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url);
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=cage-frame-high][data-viewer=connected]').waitFor({ state: 'attached', timeout: 60_000 });
    const ms = Date.now() - t0;
    if (!measureMemory) return { ms };
    await page.waitForTimeout(2000); // settle
    const all = processes();
    const supervisor = all.find((p) => p.ppid === start.pid && p.cmd.includes('supervisor/main.js'))!;
    const shell = all.find((p) => p.cmd.includes(marker) && !all.some((q) => q.pid === p.ppid && q.cmd.includes(marker)))!;
    const cages: Record<string, number> = {};
    for (const p of all.filter((q) => q.ppid === supervisor.pid && q.cmd.includes('bwrap'))) {
      const level = /--hostname cloison-(\S+)/.exec(p.cmd)?.[1] ?? String(p.pid);
      cages[level] = treeRss(p.pid, all);
    }
    return { ms, rss: { supervisor: rssMiB(supervisor.pid), shell: treeRss(shell.pid, all), cages } };
  } finally {
    await browser.close();
    start.kill('SIGINT');
    await new Promise((r) => start.once('exit', r));
    rmSync(root, { recursive: true, force: true });
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
  let rss: StartupResult['rss'] | null = null;
  let bareRss = 0;
  for (let i = 0; i < RUNS; i++) {
    const c = await cloisonOnce(i === RUNS - 1);
    cloisonMs.push(c.ms);
    if (c.rss) rss = { ...c.rss, bareXvnc: 0 };
    const b = await bareOnce();
    bareMs.push(b.ms);
    bareRss = b.rss;
  }
  rss!.bareXvnc = bareRss;
  log(`  npm start → both cages painted in the shell: median ${fmt(median(cloisonMs), 0)} ms; two bare Xvnc answering RFB: ${fmt(median(bareMs), 0)} ms`);
  log(`  RSS: supervisor ${fmt(rss!.supervisor, 0)} MiB, shell (Chromium) ${fmt(rss!.shell, 0)} MiB, cages ${Object.entries(rss!.cages).map(([l, m]) => `${l} ${fmt(m, 0)} MiB`).join(', ')}; two bare Xvnc ${fmt(bareRss, 0)} MiB`);
  return { cloisonMs, bareMs, rss: rss! };
}
