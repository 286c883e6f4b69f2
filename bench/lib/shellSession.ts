/**
 * One Cloison session for the application benchmarks: `npm start -- --no-window` (the supervisor,
 * its cages and their autostarted applications) and the shell in Chromium with npm start's own
 * flags, headful when there is a display (run under xvfb-run), opened at once on start.mjs's
 * waiting page as npm start opens it. The benchmark drives that Chromium to read what the viewers show.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { createLaunchPage } from '../../scripts/launchPage.mjs';
import { shellChromiumArgs } from '../../scripts/shellChromium.mjs';
import { DEFAULT_POLICY_YAML } from '../../supervisor/policy/defaultPolicy';

/**
 * The default policy, its applications and their autostart unchanged, with 256 MiB homes: homes
 * are reserved whole (8 GiB each by default) and the benchmark's machine is shared.
 */
export function benchPolicy(dir: string, extraApps: { low?: string[] } = {}): string {
  let yaml = DEFAULT_POLICY_YAML.replaceAll('      geometry: auto\n', '      geometry: auto\n      limits: { homeBytes: 256MiB }\n');
  for (const line of extraApps.low ?? []) yaml = yaml.replace('        - { id: pdf, exec: [mupdf-gl], desktop: mupdf }\n', `        - { id: pdf, exec: [mupdf-gl], desktop: mupdf }\n        ${line}\n`);
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, yaml);
  return path;
}

/** Flags to try beside npm start's (CLOISON_BENCH_CHROMIUM_FLAGS, space-separated): a lever measured before it is kept. */
function extraChromiumFlags(): string[] {
  return (process.env.CLOISON_BENCH_CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean);
}

export interface ShellSession {
  t0: number;
  start: ChildProcess;
  browser: Browser;
  page: Page;
  /** The command-line marker of the shell's Chromium (to find its processes). */
  marker: string;
  /** Milliseconds from t0 to the supervisor's "the shell is at". */
  listeningMs: number;
  close(): Promise<void>;
}

export async function openShellSession(root: string, policy: string, viewport = { width: 1280, height: 800 }): Promise<ShellSession> {
  const t0 = Date.now();
  const start = spawn(process.execPath, ['scripts/start.mjs', '--no-window', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'ignore'] });
  const marker = `--cloison-bench-${process.pid}-${t0}`;
  const launch = createLaunchPage(root);
  const launching = chromium
    .launch({ executablePath: '/usr/bin/chromium', headless: !process.env.DISPLAY, args: ['--no-sandbox', '--no-first-run', ...shellChromiumArgs({ locale: 'fr' }), ...extraChromiumFlags(), marker] })
    .then(async (b) => {
      const page = await b.newPage({ viewport });
      await page.goto(pathToFileURL(launch.path).href, { waitUntil: 'commit' });
      return { browser: b, page };
    });
  const exited = new Promise((r) => start.once('exit', r));
  const url = await Promise.race([
    new Promise<string>((resolve) =>
      createInterface({ input: start.stdout! }).on('line', (l) => {
        const m = /the shell is at (\S+)/.exec(l);
        if (m) resolve(m[1]!);
      }),
    ),
    exited.then(() => Promise.reject(new Error('npm start ended before the shell listened'))),
  ]);
  const listeningMs = Date.now() - t0;
  launch.go(url);
  const { browser, page } = await launching;
  return {
    t0,
    start,
    browser,
    page,
    marker,
    listeningMs,
    async close() {
      await browser.close().catch(() => undefined);
      if (start.exitCode === null) start.kill('SIGINT');
      await exited;
    },
  };
}

/** The light share a window paints (Firefox's chrome and page, Writer's page): channels summed over 400, as the e2e tests read it. */
export const LIGHT_SUM = 400;
/** "Painted": at least this share of the cage's screen light — the autostarted window drawn, not its black or the desktop's tone. */
export const PAINTED_SHARE = 0.3;

/**
 * The share of light pixels in what a level's viewer shows: its noVNC canvas (the framebuffer as
 * the gateway delivered it), sampled on a 96 × 60 grid. 0 while the viewer has no canvas yet.
 */
export async function viewerLightShare(page: Page, level: string): Promise<number> {
  try {
    const frame = await (await page.$(`[data-testid=viewer-frame-${level}]`))?.contentFrame();
    if (!frame) return 0;
    return await frame.evaluate((sum) => {
      const canvas = [...document.querySelectorAll<HTMLCanvasElement>('#screen canvas')].find((c) => c.isConnected && c.width > 0);
      if (!canvas) return 0;
      const small = document.createElement('canvas');
      small.width = 96;
      small.height = 60;
      const g = small.getContext('2d')!;
      g.drawImage(canvas, 0, 0, 96, 60);
      const d = g.getImageData(0, 0, 96, 60).data;
      let light = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > sum) light++;
      return light / (96 * 60);
    }, LIGHT_SUM);
  } catch {
    return 0;
  }
}

/** Polls both levels' viewers every `pollMs` until each is painted: milliseconds from `t0` to each level's painting. */
export async function waitPainted(page: Page, t0: number, limitMs: number, pollMs: number): Promise<Record<string, number>> {
  const painted: Record<string, number> = {};
  for (const deadline = t0 + limitMs; Object.keys(painted).length < 2; await page.waitForTimeout(pollMs)) {
    if (Date.now() > deadline) {
      const saved = await Promise.all(['low', 'high'].map((level) => saveViewerCanvas(page, level, `bench/results/unpainted-${level}.png`)));
      throw new Error(`the default applications did not paint within ${limitMs / 1000} s (painted so far: ${JSON.stringify(painted)}; what the viewers showed: ${saved.filter(Boolean).join(', ') || 'no canvas'})`);
    }
    for (const level of ['low', 'high']) {
      if (painted[`${level} painted`] === undefined && (await viewerLightShare(page, level)) >= PAINTED_SHARE) painted[`${level} painted`] = Date.now() - t0;
    }
  }
  return painted;
}

/** Writes what a level's viewer shows (its canvas, shown or not) to `path` as PNG; the path, or null without a canvas. */
async function saveViewerCanvas(page: Page, level: string, path: string): Promise<string | null> {
  try {
    const frame = await (await page.$(`[data-testid=viewer-frame-${level}]`))?.contentFrame();
    const url = await frame?.evaluate(() => [...document.querySelectorAll<HTMLCanvasElement>('#screen canvas')].find((c) => c.isConnected && c.width > 0)?.toDataURL('image/png') ?? null);
    if (!url) return null;
    writeFileSync(path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    return path;
  } catch {
    return null;
  }
}

