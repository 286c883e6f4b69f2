/**
 * A shell that comes while Cloison stops sees the stop (issue #26, shellgaps-13): the shell page
 * reloaded during the wait (F5, a renderer that crashed and came back, the kiosk unit restarting the
 * shell) or a second shell session opened then used to show a plain band — no strip, no
 * "fermeture…" — while the supervisor was about to go. The stop is now part of what a shell gets as
 * it describes its session (session.describe's `stopping`, the supervisor's own state): the strip,
 * the levels still closing, and the time left counted from the stop's start, not from the reload.
 * Real cages as in stopNotice.spec.ts: high runs xedit with unsaved text (it stays, asking to save),
 * low a terminal; the supervisor gets SIGTERM; the page is reloaded once the notice showed; under
 * LANG=fr_FR.UTF-8 and en_GB.UTF-8 (the latter also opens a second shell session during the wait).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { cageShellForUid } from './support/cageByUid';
import { openShell } from './support/supervisorProcess';
import { startStopNoticeCages } from './support/stopNoticeCages';

const BOUND_S = 60;

const CASES = [
  { lang: 'fr_FR.UTF-8', uids: { low: 56920, high: 56921 }, title: `Cloison s’arrête : les applications se ferment`, closing: 'fermeture…', high: 'Haut', secondShell: false },
  { lang: 'en_GB.UTF-8', uids: { low: 56922, high: 56923 }, title: 'Cloison is stopping: the applications are closing', closing: 'closing…', high: 'High', secondShell: true },
] as const;

/** The seconds the strip's title says are left. */
async function secondsLeft(page: Page): Promise<number> {
  const title = (await page.getByTestId('stop-notice-title').textContent()) ?? '';
  const m = /\((\d+) s/.exec(title);
  if (!m) throw new Error(`no time left in "${title}"`);
  return Number(m[1]);
}

/** What a shell that was there from the start shows, high still closing. */
async function showsTheStop(page: Page, c: (typeof CASES)[number], stopAsked: number): Promise<void> {
  const notice = page.getByTestId('stop-notice');
  await expect(notice).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('stop-notice-title')).toContainText(c.title);
  await expect(notice).toHaveAttribute('data-closing', 'high');
  await expect(page.getByTestId('stop-notice-level-high')).toHaveText(c.high);
  await expect(page.getByTestId('status-high')).toHaveText(c.closing);
  await expect(page.getByTestId('status-high')).toHaveAttribute('data-status', 'closing');
  // Counted from the stop's start (the supervisor's clock), not from when this page heard of it.
  const elapsed = Math.floor((Date.now() - stopAsked) / 1000);
  expect(await secondsLeft(page), `${elapsed} s after the stop was asked`).toBeLessThanOrEqual(BOUND_S - elapsed + 1);
}

for (const c of CASES) {
  test(`a shell page reloaded during the stop shows it, under LANG=${c.lang}`, async ({ browser }) => {
    test.setTimeout(240_000);
    const sup = await startStopNoticeCages(c.lang, c.uids, BOUND_S);
    let stopped: Promise<void> | null = null;
    try {
      const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
      const page = await context.newPage();
      await openShell(page, sup);
      const high = cageShellForUid(c.uids.high);
      await expect.poll(async () => (await high('xdotool search --class Xedit 2>/dev/null | head -1')).stdout.trim(), { timeout: 60_000 }).not.toBe('');
      const typed = await high('xdotool mousemove --sync 300 300 click 1 && xdotool type --delay 20 "texte non enregistre" && sleep 0.5 && xdotool search --class Xedit | wc -l');
      expect(typed.code, typed.stderr).toBe(0);
      // A second shell's address, asked before the stop (the browser shell's launch, over the Unix socket).
      const secondUrl = c.secondShell ? await sup.launchUrl() : null;

      const stopAsked = Date.now();
      stopped = sup.stop();
      await expect(page.getByTestId('stop-notice')).toHaveAttribute('data-closing', 'high', { timeout: 20_000 });
      // Some seconds into the wait: a page that counted from its own start would show more time left.
      await expect.poll(() => secondsLeft(page), { timeout: 30_000 }).toBeLessThanOrEqual(BOUND_S - 8);
      // The page reloaded during the wait (its resume token): the strip and the band's marks at once.
      await page.reload();
      await showsTheStop(page, c, stopAsked);
      if (secondUrl) {
        const second = await context.newPage();
        await second.goto(secondUrl);
        await showsTheStop(second, c, stopAsked);
      }
      const seen = Math.round((Date.now() - stopAsked) / 1000);
      expect(seen * 1000, 'seen while high was still closing').toBeLessThan(BOUND_S * 1000);
      console.log(`${c.lang}: after the reload${c.secondShell ? ' and in a second shell' : ''}, the stop shown ${seen} s after it was asked; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
      await stopped;
      stopped = null;
    } finally {
      await (stopped ?? sup.stop());
    }
  });
}
