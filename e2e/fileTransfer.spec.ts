/**
 * The trusted file transfer end to end, with two real cages: pick a file in low's home, choose
 * high in the shell's dialog, see the supervisor's confirmation (names, sizes, types, totals,
 * levels, trust phrase, what the policy refused), confirm, and find the file in high's
 * ~/Incoming/low byte for byte.
 */
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startSupervisor, TEST_TRUST_PHRASE, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy());
});
test.afterAll(async () => {
  await sup?.stop();
});

test('picks a file in low and lands it in high after the trusted confirmation', async ({ page }) => {
  const pdf = Buffer.from('%PDF-1.4\nrapport trimestriel\n');
  writeFileSync(join(sup.homeOf('low'), 'rapport.pdf'), pdf);
  chmodSync(join(sup.homeOf('low'), 'rapport.pdf'), 0o644);
  writeFileSync(join(sup.homeOf('low'), 'facture_\u202Efdp.txt'), 'plain text');
  chmodSync(join(sup.homeOf('low'), 'facture_\u202Efdp.txt'), 0o644);
  symlinkSync('/etc/passwd', join(sup.homeOf('low'), 'lien'));

  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-transfer').click();
  const dialog = page.getByTestId('transfer-dialog');
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId('transfer-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(page.getByTestId('transfer-to-high')).toBeChecked();
  await expect(page.getByTestId('transfer-entries')).toContainText('facture_⟨U+202E⟩fdp.txt'); // the bidi trick made visible
  await page.getByTestId('pick-rapport.pdf').check();
  await page.getByTestId('pick-facture_\u202Efdp.txt').check();
  await expect(page.getByTestId('pick-lien')).toHaveCount(0); // a link has no checkbox: it cannot be picked
  await expect(page.getByTestId('transfer-entries')).toContainText('lien symbolique');
  await page.screenshot({ path: test.info().outputPath('transfer-picker.png') });
  await page.getByTestId('transfer-send').click();

  const confirm = page.getByTestId('confirm-dialog');
  await expect(confirm).toBeVisible();
  await expect(page.getByTestId('confirm-levels')).toContainText('Bas');
  await expect(page.getByTestId('confirm-levels')).toContainText('Haut');
  await expect(page.getByTestId('confirm-what')).toContainText(`2 fichiers · ${pdf.length + 10} octets`);
  await expect(page.getByTestId('confirm-files')).toContainText('rapport.pdf');
  await expect(page.getByTestId('confirm-files')).toContainText('pdf');
  await expect(page.getByTestId('confirm-files')).toContainText(`${pdf.length} octets`);
  await expect(page.getByTestId('confirm-files')).toContainText('facture_⟨U+202E⟩fdp.txt');
  await expect(page.getByTestId('confirm-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(confirm).toHaveAttribute('data-armed', 'true');
  await page.screenshot({ path: test.info().outputPath('transfer-confirm.png') });
  await page.getByTestId('confirm-accept').click();

  await expect(page.getByTestId('transfer-results')).toContainText('copié');
  const incoming = join(sup.homeOf('high'), 'Incoming', 'low');
  expect(readFileSync(join(incoming, 'rapport.pdf'))).toEqual(pdf);
  expect(readFileSync(join(incoming, 'facture__fdp.txt'), 'utf8')).toBe('plain text'); // landed under a cleaned name
  await page.screenshot({ path: test.info().outputPath('transfer-results.png') });
});
