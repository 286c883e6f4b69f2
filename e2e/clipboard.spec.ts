/**
 * The brokered clipboard end to end, with two real cages: copy out of low with the shortcut, paste
 * into high through the trusted dialog (levels, size, lines, visible controls, trust phrase; no
 * click in its first 500 ms; the keyboard on "Refuse"), and a down paste refused without a dialog.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { twoLevelPolicy, xtermCage } from '../supervisor/testing/testPolicy';
import { expect, test, type Page } from '@playwright/test';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59701, high: 59702 };
let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoLevelPolicy({ low: xtermCage(UIDS.low), high: xtermCage(UIDS.high) }));
});
test.afterAll(async () => {
  await sup?.stop();
});

async function setCageClipboard(level: 'low' | 'high', text: string): Promise<void> {
  writeFileSync(join(sup.homeOf(level), 'clip.txt'), text, { mode: 0o644 });
  const r = await cageShellForUid(UIDS[level])('xclip -selection clipboard -i -t UTF8_STRING < ~/clip.txt > /dev/null 2>&1; sleep 0.2');
  expect(r.code).toBe(0);
}

async function cageClipboard(level: 'low' | 'high'): Promise<string> {
  return (await cageShellForUid(UIDS[level])('xclip -selection clipboard -o -t UTF8_STRING 2>/dev/null')).stdout;
}

async function openShell(page: Page): Promise<void> {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
}

test('copies out of low and pastes into high through the trusted dialog', async ({ page }) => {
  const text = 'Bonjour du bas\nfacture_\u202Efdp.exe';
  await setCageClipboard('low', text);
  await setCageClipboard('high', 'high before');
  await openShell(page);
  await page.keyboard.press('Control+Alt+C');
  await expect(page.getByTestId('band-clipboard-held')).toContainText('Bas');
  await expect(page.getByTestId('band-clipboard-held')).toContainText(`${Buffer.byteLength(text)} octets`);

  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
  await page.keyboard.press('Control+Alt+V');
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  // A click in the first 500 ms is ignored, whatever forces the button.
  await page.getByTestId('confirm-accept').evaluate((b: HTMLButtonElement) => {
    b.disabled = false;
    b.click();
  });
  await expect(dialog).toHaveAttribute('data-armed', 'true');
  await expect(dialog).toBeVisible();
  expect(await cageClipboard('high')).toBe('high before');

  await expect(page.getByTestId('confirm-levels')).toContainText('Bas');
  await expect(page.getByTestId('confirm-levels')).toContainText('Haut');
  await expect(page.getByTestId('confirm-what')).toContainText(`${Buffer.byteLength(text)} octets · 2 lignes`);
  await expect(page.getByTestId('confirm-preview')).toHaveText('Bonjour du bas\nfacture_⟨U+202E⟩fdp.exe');
  await expect(page.getByTestId('confirm-invisibles')).toBeVisible();
  await expect(page.getByTestId('confirm-trust')).toContainText(TEST_TRUST_PHRASE);
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('confirm-refuse');
  await page.screenshot({ path: test.info().outputPath('clipboard-dialog.png') });

  await page.getByTestId('confirm-accept').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('band-notice')).toContainText('Collé dans Haut');
  await expect.poll(() => cageClipboard('high')).toBe(text);
  expect(await cageClipboard('low')).toBe(text);
  await expect(page.getByTestId('band-clipboard-held')).toHaveCount(0); // single use
});

test('refuses a paste down without asking, and nothing reaches low', async ({ page }) => {
  await setCageClipboard('high', 'HAUT SECRET');
  await setCageClipboard('low', 'low text');
  await openShell(page);
  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
  await page.keyboard.press('Control+Alt+C');
  await expect(page.getByTestId('band-clipboard-held')).toContainText('Haut');
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'low');
  await page.keyboard.press('Control+Alt+V');
  // The refusal is low's (the paste was into low): over low's frame, headed by its name; the band may still say the copy out of high.
  const refusal = page.locator('[data-testid=band-notice][data-level=low]');
  await expect(refusal).toContainText('la politique interdit les transferts vers le bas du presse-papiers de Haut à Bas');
  await expect(page.getByTestId('notice-level-low')).toHaveText('Bas');
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0);
  expect(await cageClipboard('low')).toBe('low text');
});
