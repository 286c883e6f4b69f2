/**
 * The shell page's own start, step by step, read from inside: its performance marks (markOnce in
 * renderer/: its first script, the RPC link open, the session described, the early viewer frames
 * made, each viewer ready, its ticket handed over, connected) and each viewer frame's navigation
 * start (the page's resource timing), in ms after the page's navigation start. The cages are
 * already running (the e2e harness's supervisor), so this is the page's part of a start alone: what
 * the page waits for, in order. Headless Chromium with DevTools attached (Playwright): slower than a
 * user's window, the same order. Not a benchmark (no reference, no goal): an A/B of two builds.
 *
 *   xvfb-run -a node --import tsx bench/shellStartMarks.ts   (as root)
 *
 * BENCH_OUTS="dirA dirB": builds of out/ copied in turn into out/ (cp -a; out/ is left as the last
 * one), a supervisor started on each; BENCH_RUNS=N rounds (default 3), BENCH_PAGES=M pages per
 * supervisor (default 2). Without BENCH_OUTS, out/ as it is.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { startSupervisor, twoCagePolicy } from '../e2e/support/supervisorProcess';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

interface Steps {
  [step: string]: number | null;
}

async function pagesOn(build: string, pages: number): Promise<Steps[]> {
  const sup = await startSupervisor(twoCagePolicy());
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const out: Steps[] = [];
  try {
    for (let i = 0; i < pages; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'fr-FR' });
      await page.goto(await sup.launchUrl());
      await page.waitForFunction(() => performance.getEntriesByName('cloison:connected:low').length + performance.getEntriesByName('cloison:connected:high').length === 2, undefined, { timeout: 60_000 });
      out.push(
        await page.evaluate(() => {
          const steps: Record<string, number | null> = {};
          const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
          const script = res.find((r) => /\/assets\/shell-[^/]*\.js$/.test(r.name));
          steps['shell script fetched'] = script ? script.responseEnd : null;
          for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('cloison:')) steps[m.name.slice(8)] = m.startTime;
          for (const level of ['low', 'high']) {
            const src = document.querySelector(`[data-testid="viewer-frame-${level}"]`)?.getAttribute('src');
            const origin = src ? new URL(src).origin : '-';
            const nav = res.filter((r) => r.initiatorType === 'iframe' && r.name.startsWith(origin)).map((r) => r.startTime);
            steps[`frame navigation:${level}`] = nav.length > 0 ? Math.min(...nav) : null;
          }
          return steps;
        }),
      );
      await page.close();
    }
  } finally {
    await browser.close();
    await sup.stop();
  }
  console.log(`  ${build}: ${pages} page(s), load now ${load()}`);
  return out;
}

const ORDER = ['shell script fetched', 'boot', 'early-frames', 'linked', 'described', 'frame navigation:low', 'frame navigation:high', 'ready:low', 'ready:high', 'open:low', 'open:high', 'connected:low', 'connected:high'];

const outs = (process.env.BENCH_OUTS ?? '').split(' ').filter(Boolean);
const rounds = Number(process.env.BENCH_RUNS ?? 3);
const pages = Number(process.env.BENCH_PAGES ?? 2);
const all = new Map<string, Steps[]>();
for (let r = 1; r <= rounds; r++) {
  for (const build of outs.length > 0 ? outs : ['out']) {
    if (outs.length > 0) {
      execFileSync('rm', ['-rf', `${REPO}/out`]);
      execFileSync('cp', ['-a', build, `${REPO}/out`]);
    }
    console.log(`round ${r}, ${build} (load ${load()})`);
    all.set(build, [...(all.get(build) ?? []), ...(await pagesOn(build, pages))]);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`\nmedians, ms after the page's navigation start (pages: ${[...all].map(([b, s]) => `${b} ${s.length}`).join(', ')}):`);
console.log(['step', ...all.keys()].join(' | '));
for (const step of ORDER) {
  const cells = [...all.values()].map((runs) => {
    const xs = runs.map((s) => s[step]).filter((x): x is number => typeof x === 'number');
    return xs.length === 0 ? '–' : `${median(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  });
  console.log([step, ...cells].join(' | '));
}
