/**
 * The shell's own dialogs from the keyboard, on a user's workstation (issue #26): a TigerVNC host
 * display at 1920×1080 with the French layout, the shell's Chromium on it as `npm start` runs it,
 * real cages, and every key a real key event on the display (xdotool). The low cage's terminal
 * writes what it receives to a file of its home: that file is what a cage gets of the keyboard.
 *
 * - Each dialog that says « (Échap) » closes (or refuses) on Escape: the trusted menu, the transfer
 *   dialog (where Escape did nothing), its confirmation, the report and trust-phrase dialogs, the
 *   Applications menu.
 * - The focus moves into a dialog as it opens and Tab stays in it; when it closes the cage in front
 *   has the keyboard again: typing reaches it without a click.
 * - The attack: a user typing in the cage when a confirmation pops up. Keys typed on the display
 *   while it is open never reach the cage, and an Enter at once confirms nothing (the keyboard
 *   starts on Refuse and the dialog is deaf for its first 500 ms): no file crosses.
 *
 * TigerVNC's Xvnc, not Xvfb (it ignores keymap changes): e2e/support/hostDisplay.ts.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { launchShellBrowser, startHostDisplay, typeUntilCageReads, type HostDisplay, type ShellBrowser } from './support/hostDisplay';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

/** Low's terminal writes what it receives to a file of its home; files up are asked (the default). */
const POLICY = twoLevelPolicy({
  low: bwrapCage({ geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0, -fa, DejaVu Sans Mono, -fs, "12", -e, sh, -c, "cat > $HOME/typed.txt"]]' }),
  high: bwrapCage(),
});

/** Whether the keyboard's focus is inside the element with this test id. */
function focusInside(page: Page, testId: string): Promise<boolean> {
  return page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.contains(document.activeElement) ?? false, testId);
}

test.describe('the shell’s dialogs from the keyboard (#26)', () => {
  test.describe.configure({ timeout: 240_000 });
  let sup: SupervisorProcess;
  let display: HostDisplay;
  let shell: ShellBrowser;
  let received: () => Buffer;

  test.beforeAll(async () => {
    test.setTimeout(200_000);
    display = await startHostDisplay({ layout: 'fr', width: 1920, height: 1080 });
    sup = await startSupervisor(POLICY);
    shell = await launchShellBrowser(display, { url: sup.url, width: 1920, height: 1080 });
    await expect(shell.page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    writeFileSync(join(sup.homeOf('low'), 'rapport.pdf'), '%PDF-1.4\nrapport\n');
    chmodSync(join(sup.homeOf('low'), 'rapport.pdf'), 0o644);
    writeFileSync(join(sup.homeOf('low'), '.brouillon-cache.txt'), 'caché');
    chmodSync(join(sup.homeOf('low'), '.brouillon-cache.txt'), 0o644);
    received = await typeUntilCageReads(shell, display, 'low', sup.homeOf('low'));
  });
  test.afterAll(async () => {
    await shell?.close();
    await display?.stop();
    await sup?.stop();
  });

  /** Types a line on the display, with no click first, and waits until the cage's terminal has it. */
  async function reachesCage(word: string): Promise<void> {
    const before = received().length;
    await display.type(`${word}\n`);
    await expect.poll(() => received().subarray(before).toString('utf8'), { timeout: 15_000, message: `"${word}" typed with no click did not reach the cage` }).toContain(`${word}\n`);
  }

  /** Clicks an element of the shell where it is on the screen (a real pointer event). */
  async function click(testId: string): Promise<void> {
    const box = (await shell.page.getByTestId(testId).boundingBox())!;
    const p = await shell.screenPoint(box.x + box.width / 2, box.y + box.height / 2);
    await display.click(p.x, p.y);
  }

  /** Tab and Shift+Tab `times` each: the focus never leaves the dialog. */
  async function tabStaysIn(testId: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await display.key('Tab');
      expect(await focusInside(shell.page, testId), `Tab ${i + 1} took the focus out of ${testId}`).toBe(true);
    }
    for (let i = 0; i < times; i++) {
      await display.key('shift+Tab');
      expect(await focusInside(shell.page, testId), `Shift+Tab ${i + 1} took the focus out of ${testId}`).toBe(true);
    }
  }

  /** The surface is shown with the focus in it, Tab kept inside (`tabs` each way), Escape closes it, and a line typed next reaches the cage. */
  async function escapeCloses(testId: string, word: string, tabs = 0): Promise<void> {
    const surface = shell.page.getByTestId(testId);
    await expect(surface).toBeVisible();
    expect(await focusInside(shell.page, testId)).toBe(true);
    if (tabs > 0) await tabStaysIn(testId, tabs);
    await display.key('Escape');
    await expect(surface).toBeHidden();
    await reachesCage(word);
  }

  test('the trusted menu: the focus in, Tab kept, Escape closes, the cage types again', async () => {
    await display.key('Pause');
    await escapeCloses('trusted-overview', 'apres le menu', 14);
  });

  test('the transfer dialog: dot files hidden, a toggle shows them, Escape closes it (it did nothing)', async () => {
    const { page } = shell;
    await display.key('Pause');
    await click('overview-transfer');
    const dialog = page.getByTestId('transfer-dialog');
    await expect(dialog).toBeVisible();
    expect(await focusInside(page, 'transfer-dialog')).toBe(true);
    const entries = page.getByTestId('transfer-entries');
    await expect(entries).toContainText('rapport.pdf');
    await expect(entries).not.toContainText('.brouillon-cache.txt');
    await expect(entries).not.toContainText('.cloison-');
    await expect(entries).not.toContainText('.cache/');
    // Full width: the table spans the dialog's card (it took half before).
    const table = (await entries.boundingBox())!;
    const card = (await dialog.locator('.modal__card').boundingBox())!;
    expect(table.width).toBeGreaterThan(card.width * 0.85);
    await page.screenshot({ path: test.info().outputPath('transfer-fr-1920x1080.png') });
    await click('transfer-show-hidden');
    await expect(entries).toContainText('.brouillon-cache.txt');
    await page.screenshot({ path: test.info().outputPath('transfer-hidden-fr-1920x1080.png') });
    await click('transfer-show-hidden');
    await expect(entries).not.toContainText('.brouillon-cache.txt');
    await tabStaysIn('transfer-dialog', 8);
    await display.key('Escape');
    await expect(dialog).toBeHidden();
    await reachesCage('apres le transfert');
  });

  test('the attack: keys typed while a confirmation is open never reach the cage, an Enter at once confirms nothing', async () => {
    const { page } = shell;
    const before = received().length;
    await display.key('Pause');
    await click('overview-transfer');
    await expect(page.getByTestId('transfer-dialog')).toBeVisible();
    await click('pick-rapport.pdf');
    await expect(page.getByTestId('pick-rapport.pdf')).toBeChecked();
    await click('transfer-send');
    // The user was typing in the cage: an Enter the instant it shows, then more of the line.
    const confirm = page.getByTestId('confirm-dialog');
    await confirm.waitFor({ state: 'attached' });
    await display.key('Return');
    const armedAtEnter = await confirm.getAttribute('data-armed').catch(() => 'gone');
    test.info().annotations.push({ type: 'enter', description: `the first Enter came with the dialog armed=${armedAtEnter}` });
    await display.type('secret du cadre');
    // A key the cage got would be in its file within a moment (a line reaches it in well under one).
    await page.waitForTimeout(1500);
    expect(received().subarray(before).toString('utf8'), 'keys typed under the confirmation reached the cage').not.toContain('secret');
    // Nothing crossed: the file is not in high, whatever the Enter did (deaf, or on Refuse).
    const landed = join(sup.homeOf('high'), 'Incoming', 'low', 'rapport.pdf');
    expect(existsSync(landed)).toBe(false);
    if (await confirm.isVisible()) {
      expect(await focusInside(page, 'confirm-dialog')).toBe(true);
      await expect(confirm).toHaveAttribute('data-armed', 'true');
      await tabStaysIn('confirm-dialog', 3);
      // The focus back on Refuse (Tab and Shift+Tab as many times), then Escape refuses.
      await display.key('Escape');
      await expect(confirm).toBeHidden();
    }
    await expect(page.getByTestId('transfer-results')).toContainText('refusé');
    expect(existsSync(landed)).toBe(false);
    expect(await focusInside(page, 'transfer-dialog')).toBe(true);
    await display.key('Escape');
    await expect(page.getByTestId('transfer-dialog')).toBeHidden();
    await reachesCage('apres le refus');
    expect(received().subarray(before).toString('utf8')).not.toContain('secret');
  });

  test('the report and trust-phrase dialogs and the Applications menu close on Escape, and give the cage the keyboard back', async () => {
    await display.key('Pause');
    await click('overview-report');
    await escapeCloses('report-dialog', 'apres le signalement');

    await display.key('Pause');
    await click('overview-trust-change');
    await escapeCloses('trust-dialog', 'apres la phrase', 10);

    await click('open-apps');
    await escapeCloses('apps-menu', 'apres les applications');
  });
});
