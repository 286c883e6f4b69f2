/**
 * The shell speaks the workstation's language, and nothing of the browser's own shows over it:
 * under LANG=fr_FR.UTF-8 and en_GB.UTF-8 (the supervisor's, and Chromium's as npm start runs it,
 * headful on a host display), the band, a refusal, the overview, a dialog and the lock screen are
 * in that language, the page says so in <html lang>, and what the X display shows of the window is
 * exactly what the page drew (no translate bubble, no prompt, no menu).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { parseXwd, writePng } from '../supervisor/testing/xwdImage';
import { twoLevelPolicy, xtermCage } from '../supervisor/testing/testPolicy';
import { launchShellBrowser, startHostDisplay, type HostDisplay, type ShellBrowser } from './support/hostDisplay';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

/** Words only the other language uses: one of them in the page is text left untranslated. */
const FOREIGN = {
  fr: ['the', 'and', 'of', 'is', 'to', 'for', 'with', 'this', 'no', 'level', 'clipboard', 'nothing', 'lock', 'locked', 'press', 'report', 'close', 'copy', 'paste'],
  en: ['le', 'la', 'les', 'des', 'du', 'est', 'une', 'pour', 'avec', 'dans', 'aucun', 'aucune', 'niveau', 'rien', 'verrouillé', 'fermer', 'copier', 'coller', 'poste'],
} as const;

const CASES = [
  { lang: 'fr_FR.UTF-8', locale: 'fr', layout: 'fr', uids: { low: 58671, high: 58672 }, expect: { band: 'Niveau', refusal: 'Rien à copier', overview: 'Vue de confiance', dialog: 'Signaler une anomalie', lock: 'Poste verrouillé' } },
  { lang: 'en_GB.UTF-8', locale: 'en', layout: 'gb', uids: { low: 58673, high: 58674 }, expect: { band: 'Level', refusal: 'Nothing to copy', overview: 'Trusted overview', dialog: 'Report an anomaly', lock: 'Workstation locked' } },
] as const;

for (const c of CASES) {
  test.describe(`shell under LANG=${c.lang}`, () => {
    let sup: SupervisorProcess;
    let display: HostDisplay;
    let shell: ShellBrowser;

    test.beforeAll(async () => {
      sup = await startSupervisor(twoLevelPolicy({ low: xtermCage(c.uids.low), high: xtermCage(c.uids.high) }), { env: { LANG: c.lang, LC_ALL: '', LC_MESSAGES: '' } });
      display = await startHostDisplay({ layout: c.layout, width: 1400, height: 900 });
      shell = await launchShellBrowser(display, { url: await sup.launchUrl(), lang: c.lang, width: 1280, height: 800 });
      await expect(shell.page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 30_000 });
    });
    test.afterAll(async () => {
      await shell?.close();
      await display?.stop();
      await sup?.stop();
    });

    /** The page's words in one language, and what the display shows of the window matches the page. */
    async function checkScreen(name: string, mustShow: string): Promise<void> {
      const { page } = shell;
      await expect(page.locator('body')).toContainText(mustShow);
      expect(await page.evaluate(() => document.documentElement.lang)).toBe(c.locale);
      const text = (await page.evaluate(() => document.body.innerText)).replaceAll(TEST_TRUST_PHRASE, '');
      const words = new Set(text.toLowerCase().split(/[^\p{L}]+/u));
      expect(FOREIGN[c.locale].filter((w) => words.has(w)), `${name}: words of the other language in:\n${text}`).toEqual([]);
      await expectNoBrowserUi(name);
    }

    /**
     * The page's content starts at the window's own top-left corner, and the X display's pixels
     * there are the page's own screenshot's: nothing of the browser's above the band (an infobar,
     * a translate bar, an "unsupported flag" warning: each pushes the page down inside the window,
     * which a comparison at the page's own origin alone would not see) nor over it.
     */
    async function expectNoBrowserUi(name: string): Promise<void> {
      const { page } = shell;
      await page.waitForTimeout(300); // a bubble takes a moment to open
      const pageShot = PNG.sync.read(await page.screenshot());
      const win = await page.evaluate(() => ({ x: window.screenX, y: window.screenY, above: window.outerHeight - window.innerHeight, beside: window.outerWidth - window.innerWidth }));
      expect({ above: win.above, beside: win.beside }, `${name}: CSS pixels of the window not the page's, above it and beside it (a browser bar over the band?)`).toEqual({ above: 0, beside: 0 });
      const origin = { x: win.x, y: win.y }; // the window's corner, not the page's: at a scale of 1
      const xwd = execFileSync('xwd', ['-root', '-silent', '-display', display.display], { maxBuffer: 64 * 2 ** 20 });
      const screen = parseXwd(xwd);
      // Both kept with the test's results: what the display showed, and what the page drew.
      writePng(test.info().outputPath(`${c.locale}-${name}-display.png`), screen);
      writeFileSync(test.info().outputPath(`${c.locale}-${name}-page.png`), PNG.sync.write(pageShot));
      let differing = 0;
      for (let y = 0; y < pageShot.height; y++) {
        for (let x = 0; x < pageShot.width; x++) {
          const o = (y * pageShot.width + x) * 4;
          const s = ((origin.y + y) * screen.width + origin.x + x) * 3;
          const d = Math.abs(pageShot.data[o]! - screen.rgb[s]!) + Math.abs(pageShot.data[o + 1]! - screen.rgb[s + 1]!) + Math.abs(pageShot.data[o + 2]! - screen.rgb[s + 2]!);
          if (d > 24) differing++;
        }
      }
      // A translate bubble or a prompt covers several per cent of the window; a caret's blink, none.
      expect(differing / (pageShot.width * pageShot.height), `${name}: the display shows something over the page (see ${c.locale}-${name}-display.png)`).toBeLessThan(0.005);
    }

    test('band, refusal, overview, dialog and lock screen in that language, with no browser UI', async () => {
      const { page } = shell;
      await checkScreen('band', c.expect.band);

      // Ctrl+Alt+C by real keys: low's clipboard and selection are empty, so the broker refuses,
      // in the shell's language, and the refusal stays until closed.
      await display.key('ctrl+alt+c');
      await expect(page.getByTestId('band-notice')).toContainText(c.expect.refusal);
      await page.waitForTimeout(2500);
      await expect(page.getByTestId('band-notice')).toBeVisible();
      await checkScreen('refusal', c.expect.refusal);
      const close = await page.getByTestId('band-notice-close').boundingBox();
      const at = await shell.screenPoint(close!.x + close!.width / 2, close!.y + close!.height / 2);
      await display.click(at.x, at.y);
      await expect(page.getByTestId('band-notice')).toHaveCount(0);

      // A right click on the band opens no browser menu.
      const band = await shell.screenPoint(400, 20);
      await display.click(band.x, band.y, 3);
      await expectNoBrowserUi('right-click');
      await display.key('Escape');

      await page.getByTestId('open-overview').click();
      await checkScreen('overview', c.expect.overview);
      await page.getByTestId('overview-report').click();
      await checkScreen('dialog', c.expect.dialog);
      await page.getByTestId('report-dialog').getByRole('button').first().click(); // Annuler / Cancel
      await expect(page.getByTestId('report-dialog')).toHaveCount(0);

      await page.getByTestId('open-overview').click();
      await page.getByTestId('overview-lock').click();
      await expect(page.getByTestId('lock-screen')).toBeVisible();
      await checkScreen('lock', c.expect.lock);
    });
  });
}
