/**
 * The exclusive smart card in the shell (real supervisor, real cages, a SoftHSM2 token): no level
 * has it at first; the trusted overview gives it to high — the band marks high, and high's cage
 * finds the card — then to low, which takes it from high first. The card pulled out of the reader
 * shows on every level it is for and in the overview (its sessions ended), and goes when it is back.
 */
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { testRoot } from '../supervisor/testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE } from '../supervisor/testing/softToken';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 62861, high: 62862 };
const PROXY_UID = 64_860;
let sup: SupervisorProcess;
let tokenRoot: string;

test.beforeAll(async () => {
  tokenRoot = testRoot('cloison-e2e-card-');
  chmodSync(tokenRoot, 0o711);
  const token = makeSoftToken(join(tokenRoot, 'token'), PROXY_UID);
  const cage = (uid: number) => bwrapCage({ uid, geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0]]' });
  const card = `smartcard:
  module: ${SOFTHSM_MODULE}
  exclusive: true
  environment: { SOFTHSM2_CONF: ${token.conf} }
  levels:
    high: { objects: [high-sign], uid: ${PROXY_UID} }
    low: { objects: [low-auth], uid: ${PROXY_UID} }
`;
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UIDS.low), high: cage(UIDS.high) }, card), { extraArgs: ['--shell-user', 'cloison-shell-test'], rootMode: 0o711 });
});
test.afterAll(async () => {
  await sup?.stop();
  if (tokenRoot) rmSync(tokenRoot, { recursive: true, force: true });
});

// Entered by nsenter, not through the cage's launcher: the card's environment given as the cage's session has it.
const seesCard = async (level: 'low' | 'high') =>
  (await cageShellForUid(UIDS[level])('PKCS11PROXY_SOCKET_PATH=/run/cloison-card/pkcs11.sock PKCS11PROXY_LIBNAME=cloison pkcs11-tool --module /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so -L 2>&1')).stdout.includes('token label        : card');

test('the overview gives the card to one level at a time; the band shows which', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('smartcard-high')).toHaveCount(0);
  expect(await seesCard('high')).toBe(false);

  await page.keyboard.press('Pause');
  await page.getByTestId('card-give-high').click();
  await expect(page.getByTestId('card-take-high')).toBeVisible();
  await expect(page.getByTestId('smartcard-high')).toBeVisible();
  expect(await seesCard('high')).toBe(true);
  expect(await seesCard('low')).toBe(false);
  await page.screenshot({ path: test.info().outputPath('smartcard-overview.png') });

  await page.getByTestId('card-give-low').click();
  await expect(page.getByTestId('smartcard-low')).toBeVisible();
  await expect(page.getByTestId('smartcard-high')).toHaveCount(0);
  expect(await seesCard('low')).toBe(true);
  expect(await seesCard('high')).toBe(false);
  await page.getByTestId('card-take-low').click();
  await expect(page.getByTestId('smartcard-low')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath('smartcard-taken.png') });
});

test('the card pulled out shows on each level it is for and in the overview; put back, the marks go', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('smartcard-absent-high')).toHaveCount(0);
  // SoftHSM2's card in the reader is its token's folder in the token directory.
  const tokens = join(tokenRoot, 'token', 'tokens');
  const [folder] = readdirSync(tokens);
  const pulled = join(tokenRoot, 'pulled');
  mkdirSync(pulled, { recursive: true });
  renameSync(join(tokens, folder!), join(pulled, folder!));
  try {
    await expect(page.getByTestId('smartcard-absent-high')).toBeVisible({ timeout: 10_000 });
    await expect(page.getByTestId('smartcard-absent-low')).toBeVisible();
    await expect(page.getByTestId('smartcard-absent-high')).toContainText('pas de carte');
    await page.keyboard.press('Pause');
    await expect(page.getByTestId('overview-card-removed')).toContainText('Carte retirée du lecteur');
    await page.screenshot({ path: test.info().outputPath('smartcard-pulled.png') });
    await page.keyboard.press('Escape');
  } finally {
    renameSync(join(pulled, folder!), join(tokens, folder!));
  }
  await expect(page.getByTestId('smartcard-absent-high')).toHaveCount(0, { timeout: 10_000 });
  await expect(page.getByTestId('smartcard-absent-low')).toHaveCount(0);
});
