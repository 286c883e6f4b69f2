/**
 * Level switch: from the switch shortcut's keydown in the shell to the frame in which the other
 * cage is visible and the band shows the new level, measured inside Chromium over real cages.
 * The reference is the budget itself: one 60 Hz frame (16.7 ms).
 */
import { chromium } from '@playwright/test';
import { startSupervisor, twoCagePolicy } from '../e2e/support/supervisorProcess';
import { fmt, median, percentile } from './lib/stats';

const SWITCHES = 200;

export async function runLevelSwitchBench(log: (s: string) => void): Promise<{ samples: number[]; median: number; p95: number }> {
  const sup = await startSupervisor(twoCagePolicy());
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // In the page, registered before the shell's own listeners: the time of the shortcut's
    // keydown, then the first animation frame after the band and the frames changed.
    // Plain JavaScript text: a function here would be rewritten by the TypeScript loader.
    await page.addInitScript(`
      window.switchTimes = [];
      let t0 = 0;
      window.addEventListener('keydown', (e) => { if (e.key === 'PageDown') t0 = performance.now(); }, { capture: true });
      const watch = () => {
        const band = document.querySelector('[data-testid=level-band]');
        if (!band) return void setTimeout(watch, 50);
        new MutationObserver(() => {
          const level = band.getAttribute('data-level');
          const frame = document.querySelector('[data-testid=cage-frame-' + level + ']');
          if (!frame || getComputedStyle(frame).visibility !== 'visible') return;
          requestAnimationFrame(() => window.switchTimes.push(performance.now() - t0));
        }).observe(band, { attributes: true, attributeFilter: ['data-level'] });
      };
      document.addEventListener('DOMContentLoaded', watch);
    `);
    await page.goto(await sup.launchUrl());
    await page.locator('[data-testid=cage-frame-high][data-viewer=connected]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 30_000 });
    for (let i = 0; i < SWITCHES; i++) {
      await page.keyboard.press('Control+Alt+PageDown');
      await page.waitForTimeout(30);
    }
    const samples = ((await page.evaluate('window.switchTimes')) as number[]).slice(10);
    const result = { samples, median: median(samples), p95: percentile(samples, 95) };
    log(`  level switch over ${samples.length} switches: median ${fmt(result.median)} ms, p95 ${fmt(result.p95)} ms (one 60 Hz frame: 16.67 ms)`);
    return result;
  } finally {
    await browser.close();
    await sup.stop();
  }
}
