/**
 * Converted transfers in the shell, with two real cages: the transfer dialog says documents cross
 * converted, the trusted confirmation shows the page count, the converted PDF's size and
 * thumbnails the supervisor drew from its pixels, and high receives only `<name>.pdf` rebuilt from
 * them (no script of the original in it).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { hostile } from '../supervisor/files/convert/hostileDocuments';
import { startSupervisor, TEST_TRUST_PHRASE, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy({ extra: 'files:\n  up: { decision: convert }\n' }));
});
test.afterAll(async () => {
  await sup?.stop();
});

test('low → high converted: pages and thumbnails shown, only the rebuilt PDF lands', async ({ page }) => {
  writeFileSync(join(sup.homeOf('low'), 'facture.pdf'), hostile.javascript());
  chmodSync(join(sup.homeOf('low'), 'facture.pdf'), 0o644);

  await page.goto(await sup.launchUrl());
  await page.getByTestId('switch-low').click();
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-transfer').click();
  await expect(page.getByTestId('transfer-to-high')).toBeChecked();
  await expect(page.getByTestId('transfer-converted')).toContainText('convertis en images');
  await page.getByTestId('pick-facture.pdf').check();
  await page.getByTestId('transfer-send').click();

  const confirm = page.getByTestId('confirm-dialog');
  await expect(page.getByTestId('confirm-converted')).toContainText('arrivera comme facture.pdf · 1 page', { timeout: 60_000 });
  await expect(page.getByTestId('confirm-thumbnail')).toHaveCount(1);
  // The thumbnail is an image the page decoded: drawn, not broken.
  expect(await page.getByTestId('confirm-thumbnail').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(50);
  await expect(page.getByTestId('confirm-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(confirm).toHaveAttribute('data-armed', 'true');
  await page.screenshot({ path: test.info().outputPath('convert-confirm.png') });
  await page.getByTestId('confirm-accept').click();

  await expect(page.getByTestId('transfer-results')).toContainText('facture.pdf');
  const landed = readFileSync(join(sup.homeOf('high'), 'Incoming', 'low', 'facture.pdf'));
  expect(landed.toString('latin1')).not.toContain('JavaScript');
  expect(landed.subarray(0, 5).toString()).toBe('%PDF-');
});
