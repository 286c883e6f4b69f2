/**
 * USB storage in the shell, end to end: a real loop device over an ext4 image is plugged, the
 * trusted dialog shows what it is and where it may go (levels in their colours, modes, trust
 * phrase), the user's choice mounts it in that cage only, and the band's tray lists it with its
 * folder and an Eject that tells when the key may be pulled. A key a rule names is only suggested
 * (what a device says it is can be cloned); a key marked for high from the tray, after the
 * supervisor's trusted dialog, goes there read-write and nowhere else, and unmarking erases it; a
 * hostile label is shown with its control characters made visible.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { LoopKeys } from '../supervisor/testing/loopKeys';
import { bwrapCage, twoLevelPolicy, xtermCage, HIGH_COLOUR, LOW_COLOUR } from '../supervisor/testing/testPolicy';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses } from './support/cageProbes';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59801, high: 59802 };
const BOUND_UUID = '7e57b0d0-1111-4222-8333-944455556666';
let sup: SupervisorProcess;
let keysRoot: string;
let keys: LoopKeys;

test.beforeAll(async () => {
  keysRoot = mkdtempSync(join(tmpdir(), 'cloison-keys-'));
  keys = new LoopKeys(keysRoot);
  const usb = `usb:
  loopDevices: { backingDir: ${keys.backingDir} }
  rules:
    - { name: "clé de l'équipe haute", match: { uuid: "${BOUND_UUID}" }, level: high, mode: read-only }
`;
  const lowCage = bwrapCage({ uid: UIDS.low, geometry: '1024x640', apps: `[[xterm, -geometry, 120x40+0+0], ${KEY_LOGGER_APP}]` });
  sup = await startSupervisor(twoLevelPolicy({ low: lowCage, high: xtermCage(UIDS.high) }, usb));
});
test.afterAll(async () => {
  await sup?.stop();
  await keys?.cleanup();
  rmSync(keysRoot, { recursive: true, force: true });
});

/** '#1b7f3b' as the browser computes it: 'rgb(27, 127, 59)'. */
const rgbOf = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
const inCage = (level: 'low' | 'high', script: string) => cageShellForUid(UIDS[level])(script);

async function openShell(page: Page): Promise<void> {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
}

test('an unknown key: trusted dialog, attach low read-write, tray, eject, reattach high read-only', async ({ page }) => {
  await openShell(page);
  // The hasty user: the moment the dialog appears, its "attach low" button is clicked (forced
  // enabled, in the same task). A dialog still arming must ignore it (trusted path, property 5).
  await page.evaluate(`(() => {
    const observer = new MutationObserver(() => {
      const attach = document.querySelector('[data-testid=device-attach-low-read-write]');
      if (!attach) return;
      observer.disconnect();
      attach.disabled = false;
      attach.click();
      window.hastyClick = true;
    });
    observer.observe(document, { childList: true, subtree: true });
  })()`);
  const key = await keys.plug({ format: 'ext4', fileName: 'rapport-key.img', label: 'RAPPORTS', uuid: '0d5e2c4a-8b1f-4e7a-9c3d-2f6b8a0e1c57', owner: UIDS.low, files: { 'note.txt': 'bas\n' } });

  const dialog = page.getByTestId('device-dialog');
  await expect(dialog).toBeVisible({ timeout: 10_000 });
  expect(await page.evaluate('window.hastyClick')).toBe(true);
  await page.waitForTimeout(700);
  await expect(dialog).toBeVisible(); // the hasty click attached nothing
  expect((await inCage('low', 'ls -A ~/Media')).stdout).toBe('');
  await expect(page.getByTestId('device-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(page.getByTestId('device-label')).toHaveText('RAPPORTS');
  await expect(page.getByTestId('device-filesystem')).toHaveText('ext4');
  await expect(page.getByTestId('device-serial')).toHaveText('rapport-key.img');
  await expect(page.getByTestId('device-uuid')).toHaveText('0d5e2c4a-8b1f-4e7a-9c3d-2f6b8a0e1c57');
  await expect(page.getByTestId('device-size')).toHaveText('8.0 MiB');
  await expect(page.getByTestId('device-vendor')).toHaveText('Linux');
  const low = page.getByTestId('device-attach-low-read-write');
  const high = page.getByTestId('device-attach-high-read-only');
  await expect(low).toContainText('Attacher à Bas');
  await expect(low).toContainText('lecture-écriture');
  await expect(high).toContainText('Attacher à Haut');
  await expect(high).toContainText('lecture seule');
  await expect(page.getByTestId('device-attach-high-read-write')).toHaveCount(0);
  expect(await low.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgbOf(LOW_COLOUR));
  expect(await high.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgbOf(HIGH_COLOUR));
  await expect(page.getByTestId('device-leave')).toBeFocused(); // a stray Enter does not attach
  await expect(dialog).toHaveAttribute('data-armed', 'true');
  // While the dialog is up no cage gets a key, even one aimed straight at the cage's viewer.
  const xBefore = rawKeyPresses(sup.homeOf('low')).filter((k) => k === KEYCODE.x).length;
  await page.keyboard.press('x');
  await page.getByTestId('viewer-low').press('x');
  await page.waitForTimeout(300);
  expect(rawKeyPresses(sup.homeOf('low')).filter((k) => k === KEYCODE.x).length).toBe(xBefore);
  await page.screenshot({ path: test.info().outputPath('usb-dialog.png') });

  await low.click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('device-tray-count')).toHaveText('1/1');
  expect((await inCage('low', 'cat ~/Media/RAPPORTS/note.txt && echo ok > ~/Media/RAPPORTS/w.txt && cat ~/Media/RAPPORTS/w.txt')).stdout).toBe('bas\nok\n');
  expect((await inCage('high', 'ls -A ~/Media')).stdout).toBe('');

  await page.getByTestId('device-tray').click();
  const panel = page.getByTestId('device-tray-panel');
  await expect(panel).toContainText('RAPPORTS');
  await expect(panel).toContainText('Bas');
  await expect(panel).toContainText('~/Media/RAPPORTS');
  await page.screenshot({ path: test.info().outputPath('usb-tray.png') });
  await panel.getByTestId('tray-eject').click();
  await expect(panel.getByTestId('tray-safe')).toContainText('peut être retiré');
  await expect(page.getByTestId('band-notice')).toContainText('vous pouvez le retirer');
  expect((await inCage('low', 'ls -A ~/Media')).stdout).toBe('');

  // Reattach elsewhere, from the tray.
  await panel.getByTestId('tray-attach').click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('device-attach-high-read-only').click();
  await expect(page.getByTestId('device-tray-count')).toHaveText('1/1');
  expect((await inCage('high', 'cat ~/Media/RAPPORTS/w.txt; echo x > ~/Media/RAPPORTS/y.txt')).stderr).toMatch(/Read-only file system/);
  expect((await inCage('low', 'ls -A ~/Media')).stdout).toBe('');
  await page.getByTestId('device-tray').click();
  await page.getByTestId('tray-eject').click();
  await expect(page.getByTestId('tray-safe')).toBeVisible();
  await key.pull();
  await expect(page.getByTestId('device-tray-count')).toHaveText('0/0');
});

test('a key a rule names is only suggested in the dialog; a hostile label is shown made visible', async ({ page }) => {
  await openShell(page);
  const bound = await keys.plug({ format: 'ext4', fileName: 'team.img', label: 'EQUIPE', uuid: BOUND_UUID, files: { 'plan.txt': 'plan\n' } });
  const suggestion = page.getByTestId('device-dialog');
  await expect(suggestion).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('device-attach-high-read-only')).toHaveAttribute('data-suggested', 'true');
  await expect(page.getByTestId('device-attach-high-read-write')).toHaveCount(0);
  await expect(suggestion).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('device-attach-high-read-only').click();
  await expect.poll(async () => (await inCage('high', 'cat ~/Media/EQUIPE/plan.txt')).stdout).toBe('plan\n');

  const hostile = await keys.plug({ format: 'ext4', fileName: 'evil\u202e.img', label: '../\u001b[31m\u0007x/..' });
  const dialog = page.getByTestId('device-dialog');
  await expect(dialog).toBeVisible({ timeout: 10_000 });
  // Each control character is drawn as a marked chip naming it, never as itself.
  await expect(page.getByTestId('device-label')).toHaveText('../U+001B[31mU+0007x/..');
  await expect(page.getByTestId('device-label').locator('.invisible-mark')).toHaveText(['U+001B', 'U+0007']);
  await expect(page.getByTestId('device-serial')).toHaveText('evilU+202E.img');
  await expect(dialog).toHaveAttribute('data-armed', 'true');
  await page.screenshot({ path: test.info().outputPath('usb-hostile-dialog.png') });
  // Escape leaves it unattached, as the button says (#26: one keyboard mechanism for the dialogs).
  await expect(page.getByTestId('device-leave')).toHaveText('Ne pas attacher (Échap)');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await page.getByTestId('device-tray').click();
  const panel = page.getByTestId('device-tray-panel');
  await expect(panel).toContainText('EQUIPE');
  await expect(panel).toContainText('Haut');
  await expect(panel).toContainText('non attaché');
  await page.screenshot({ path: test.info().outputPath('usb-tray.png') });
  await hostile.pull();
  await page.getByTestId('tray-eject').click();
  await bound.pull();
  await expect(page.getByTestId('device-tray-count')).toHaveText('0/0', { timeout: 10_000 });
});

test('marking a key for high from the tray: trusted dialog, erased, marked, attached high read-write only; unmarking erases it', async ({ page }) => {
  await openShell(page);
  const key = await keys.plug({ format: 'ext4', fileName: 'tomark.img', label: 'NEUVE', sizeMiB: 32, files: { 'old.txt': 'old\n' } });
  await expect(page.getByTestId('device-dialog')).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('device-dialog')).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('device-leave').click();

  await page.getByTestId('device-tray').click();
  await page.getByTestId('tray-mark-high').click();
  const confirm = page.getByTestId('confirm-dialog');
  await expect(confirm).toHaveAttribute('data-kind', 'device');
  await expect(page.getByTestId('confirm-trust')).toContainText(TEST_TRUST_PHRASE);
  await expect(page.getByTestId('confirm-levels')).toContainText('Haut');
  await expect(page.getByTestId('device-label')).toHaveText('NEUVE');
  await expect(confirm).toHaveAttribute('data-armed', 'true');
  await page.screenshot({ path: test.info().outputPath('usb-mark-dialog.png') });
  await page.getByTestId('confirm-accept').click();
  await expect(confirm).toHaveCount(0);

  // Marked and attached in high, read-write; the tray says so in high's colour.
  await expect.poll(async () => (await inCage('high', 'echo plan > ~/Media/HIGH/plan.txt && cat ~/Media/HIGH/plan.txt')).stdout, { timeout: 15_000 }).toBe('plan\n');
  expect((await inCage('low', 'ls -A ~/Media')).stdout).toBe('');
  await page.getByTestId('device-tray').click();
  await expect(page.getByTestId('tray-mark')).toHaveAttribute('data-mark', 'valid');
  await expect(page.getByTestId('tray-mark').locator('.chip')).toHaveCSS('background-color', rgbOf(HIGH_COLOUR));
  await page.screenshot({ path: test.info().outputPath('usb-tray-marked.png') });
  await page.getByTestId('tray-eject').click();
  await expect(page.getByTestId('tray-safe')).toBeVisible();
  // Only high is offered now.
  await page.getByTestId('tray-attach').click();
  await expect(page.getByTestId('device-bound')).toBeVisible();
  await expect(page.getByTestId('device-attach-high-read-write')).toBeVisible();
  await expect(page.getByTestId('device-attach-low-read-write')).toHaveCount(0);
  await expect(page.getByTestId('device-dialog')).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('device-leave').click();

  await page.getByTestId('device-tray').click();
  await page.getByTestId('tray-unmark').click();
  await expect(page.getByTestId('confirm-dialog')).toHaveAttribute('data-armed', 'true');
  await page.getByTestId('confirm-accept').click();
  await page.getByTestId('device-tray').click();
  await expect(page.getByTestId('tray-mark')).toHaveAttribute('data-mark', 'none', { timeout: 15_000 });
  expect(readFileSync(key.image).every((b) => b === 0)).toBe(true);
  await key.pull();
});
