/**
 * While Cloison stops, the user sees it (stopNotice.ts, LevelNotice.tsx StopNotice): the shell's
 * strip under the band says Cloison is stopping, for how long at most, which levels are still closing
 * their applications, and that one may be asking to save; the band marks those levels "fermeture…".
 * Real cages: high runs xedit with unsaved text (asked to close, it answers "Unsaved changes. Save
 * them, or Quit again." and stays), low a terminal (closes at once). The supervisor is stopped
 * (SIGTERM, as `systemctl stop` does): the notice is seen with high still closing, in the shell's own
 * strip (over no cage picture), under LANG=fr_FR.UTF-8 and en_GB.UTF-8; switching levels still
 * works during the wait (the supervisor confirms high in front: input goes there), and the stop ends
 * once high's bound has passed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { cageShellForUid } from './support/cageByUid';
import { openShell } from './support/supervisorProcess';
import { startStopNoticeCages } from './support/stopNoticeCages';
import { intersects, pictureBoxes } from './support/pictureBoxes';

const SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots', import.meta.url));
const BOUND_S = 25;

const CASES = [
  { lang: 'fr_FR.UTF-8', locale: 'fr', uids: { low: 56912, high: 56913 }, title: `Cloison s’arrête : les applications se ferment`, closing: 'fermeture…', hint: 'passez à son niveau pour répondre', high: 'Haut' },
  { lang: 'en_GB.UTF-8', locale: 'en', uids: { low: 56914, high: 56915 }, title: 'Cloison is stopping: the applications are closing', closing: 'closing…', hint: 'switch to its level to answer', high: 'High' },
] as const;

for (const c of CASES) {
  test(`the stop is shown, high still closing, under LANG=${c.lang}`, async ({ browser }) => {
    test.setTimeout(180_000);
    const sup = await startStopNoticeCages(c.lang, c.uids, BOUND_S);
    let stopped: Promise<void> | null = null;
    try {
      const page = await (await browser.newContext({ viewport: { width: 1920, height: 1080 } })).newPage();
      await openShell(page, sup);
      // xedit with unsaved text: asked to close, it asks to save first (and stays).
      const high = cageShellForUid(c.uids.high);
      await expect.poll(async () => (await high('xdotool search --class Xedit 2>/dev/null | head -1')).stdout.trim(), { timeout: 60_000 }).not.toBe('');
      const typed = await high('w=$(xdotool search --class Xedit | tail -1); xdotool mousemove --sync 300 300 click 1 && xdotool type --delay 20 "texte non enregistre" && sleep 0.5 && xdotool search --class Xedit | wc -l');
      expect(typed.code, typed.stderr).toBe(0);

      // Stopped as systemctl stop does (SIGTERM to the manager).
      const stopAsked = Date.now();
      stopped = sup.stop();
      const notice = page.getByTestId('stop-notice');
      await expect(notice).toBeVisible({ timeout: 20_000 });
      await expect(page.getByTestId('stop-notice-title')).toContainText(c.title);
      // Low's terminal closes at once; high's editor waits for an answer.
      await expect(notice).toHaveAttribute('data-closing', 'high', { timeout: 15_000 });
      await expect(page.getByTestId('stop-notice-level-high')).toHaveText(c.high);
      await expect(page.getByTestId('stop-notice-hint')).toContainText(c.hint);
      await expect(page.getByTestId('status-high')).toHaveText(c.closing);
      await expect(page.getByTestId('status-high')).toHaveAttribute('data-status', 'closing');
      // The shell's own strip: under the band, over no cage picture.
      const box = (await notice.boundingBox())!;
      const band = (await page.getByTestId('level-band').boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(band.y + band.height - 0.5);
      const pictures = await pictureBoxes(page);
      expect(pictures.length).toBeGreaterThanOrEqual(1);
      for (const p of pictures) expect(intersects(box, p.box), `the notice ${JSON.stringify(box)} lies over ${p.what} ${JSON.stringify(p.box)}`).toBe(false);
      // Switching levels still works: the supervisor puts high in front (its input goes there).
      await page.getByTestId('switch-high').click();
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
      await expect(notice).toBeVisible();
      expect(Date.now() - stopAsked, 'seen while high was still closing').toBeLessThan(BOUND_S * 1000);
      await page.screenshot({ path: `${SCREENSHOTS}/stop-notice-${c.locale}-1920x1080.png` });
      console.log(`${c.locale}: notice seen, high closing, switch confirmed ${Math.round((Date.now() - stopAsked) / 1000)} s after the stop; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
      await stopped;
      stopped = null;
    } finally {
      await (stopped ?? sup.stop());
    }
  });
}
