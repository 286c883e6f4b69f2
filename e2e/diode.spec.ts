/**
 * The encrypting diode in the shell, with two real cages and a real OpenPGP recipient: the
 * transfer dialog says the files will arrive encrypted and for whom (no justification asked), the
 * supervisor's confirmation lists the recipients and their fingerprints, and low receives only the
 * `.gpg` that the recipient's key opens.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openPgpPerson, type OpenPgpPerson } from '../supervisor/testing/openpgpPerson';
import { policyFilesFolderForPart } from '../supervisor/testing/splitSupervisor';
import { startSupervisor, TEST_TRUST_PHRASE, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;
let keysRoot: string;
let recipient: OpenPgpPerson;

test.beforeAll(async () => {
  keysRoot = mkdtempSync(join(tmpdir(), 'cloison-rcpt-'));
  recipient = openPgpPerson(keysRoot, 'Claire');
  // Split, the cloison part reads the public key (an administrator's /etc/cloison/recipients is 0755).
  policyFilesFolderForPart(keysRoot);
  sup = await startSupervisor(twoCagePolicy({ extra: `files:\n  down: { decision: encrypt, recipients: [${recipient.publicKey}] }\n` }));
});
test.afterAll(async () => {
  await sup?.stop();
  recipient?.close();
  rmSync(keysRoot, { recursive: true, force: true });
});

test('high → low through the encrypting diode: recipients shown, only ciphertext lands, the recipient reads it', async ({ page }) => {
  const note = 'Note de synthèse — diffusion restreinte\n';
  writeFileSync(join(sup.homeOf('high'), 'note.txt'), note);
  chmodSync(join(sup.homeOf('high'), 'note.txt'), 0o644);

  await page.goto(await sup.launchUrl());
  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-transfer').click();
  await expect(page.getByTestId('transfer-to-low')).toBeChecked();
  await expect(page.getByTestId('transfer-encrypted')).toContainText('Claire <claire@example.org>');
  await expect(page.getByTestId('transfer-justification')).toHaveCount(0);
  await page.getByTestId('pick-note.txt').check();
  await page.screenshot({ path: test.info().outputPath('diode-picker.png') });
  await page.getByTestId('transfer-send').click();

  const confirm = page.getByTestId('confirm-dialog');
  await expect(page.getByTestId('confirm-encrypt-to')).toContainText(recipient.fingerprint);
  await expect(page.getByTestId('confirm-levels')).toContainText('vers le bas');
  await expect(page.getByTestId('confirm-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(confirm).toHaveAttribute('data-armed', 'true');
  await page.screenshot({ path: test.info().outputPath('diode-confirm.png') });
  await page.getByTestId('confirm-accept').click();

  await expect(page.getByTestId('transfer-results')).toContainText('note.txt.gpg');
  await expect(page.getByTestId('transfer-results')).toContainText('chiffré');
  const landed = join(sup.homeOf('low'), 'Incoming', 'high', 'note.txt.gpg');
  expect(readFileSync(landed, 'utf8')).not.toContain('diffusion restreinte');
  // Signed by high's own key, which the site hands its recipients (exported beside the state).
  recipient.gpg(['--import', join(sup.stateDir, 'diode', 'high.asc')]);
  expect(recipient.gpg(['--decrypt', landed])).toBe(note);
});
