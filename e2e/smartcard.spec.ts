/**
 * The exclusive smart card in the shell (real supervisor, real cages, a SoftHSM2 token): no level
 * has it at first; the trusted overview gives it to high — the band marks high, and high's cage
 * finds the card — then to low, which takes it from high first. The card pulled out of the reader
 * shows on every level it is for and in the overview (its sessions ended), and goes when it is back.
 * With `pin: trusted` (LANG=fr_FR.UTF-8), `pkcs11-tool --login` in high opens the trusted PIN dialog;
 * the PIN typed there through the keyboard signs in high, a wrong one is refused and journaled.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { cardSection, cardTestRoot } from '../supervisor/testing/cardFixture';
import { type SoftToken } from '../supervisor/testing/softToken';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

test.describe('exclusive card', () => {
  const UIDS = { low: 59861, high: 59862 };
  const PROXY_UID = 58560;
  let sup: SupervisorProcess;
  let tokenRoot: string;

  test.beforeAll(async () => {
    let token: SoftToken;
    ({ root: tokenRoot, token } = cardTestRoot('cloison-e2e-card-', PROXY_UID));
    const cage = (uid: number) => bwrapCage({ uid, geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0]]' });
    const card = cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }, { exclusive: true });
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
});

test.describe('PIN typed in the trusted dialog', () => {
  const UIDS = { low: 59865, high: 59866 };
  const PROXY_UID = 58565;
  /** The card's PIN: set on the token, typed only in the dialog, never given to a cage. */
  const USER_PIN = '7391-carte';
  const WRONG_PIN = '0001-mauvais';
  let sup: SupervisorProcess;
  let tokenRoot: string;

  test.beforeAll(async () => {
    let token: SoftToken;
    ({ root: tokenRoot, token } = cardTestRoot('cloison-e2e-pin-', PROXY_UID, USER_PIN));
    const cage = (uid: number) => bwrapCage({ uid, geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0]]' });
    const card = cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }, { pin: 'trusted' });
    sup = await startSupervisor(twoLevelPolicy({ low: cage(UIDS.low), high: cage(UIDS.high) }, card), { extraArgs: ['--shell-user', 'cloison-shell-test'], rootMode: 0o711, env: { LANG: 'fr_FR.UTF-8', LC_ALL: '', LC_MESSAGES: '' } });
  });
  test.afterAll(async () => {
    await sup?.stop();
    if (tokenRoot) rmSync(tokenRoot, { recursive: true, force: true });
  });

  const journal = () => readFileSync(`${sup.stateDir}/audit.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  /** pkcs11-tool in high, as its applications find the card: --login and no PIN of its own. */
  const signInHigh = () =>
    cageShellForUid(UIDS.high)(
      'echo document > /tmp/doc; PKCS11PROXY_SOCKET_PATH=/run/cloison-card/pkcs11.sock PKCS11PROXY_LIBNAME=cloison pkcs11-tool --module /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so --login --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig 2>&1 && wc -c < /tmp/sig',
      60_000,
    );

  test('pkcs11-tool --login in high asks in the trusted dialog; the PIN typed there signs', async ({ page }) => {
    await page.goto(await sup.launchUrl());
    // The cages may still be starting on a busy machine.
    await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    const signed = signInHigh();
    const dialog = page.getByTestId('pin-dialog');
    await expect(dialog).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId('pin-level')).toContainText('Haut');
    await expect(page.getByTestId('pin-application')).toContainText('pkcs11-tool');
    await expect(page.getByTestId('pin-trust')).toContainText(TEST_TRUST_PHRASE);
    await expect(dialog).toContainText('Code PIN de la carte à puce');
    await expect(dialog).toHaveAttribute('data-armed', 'true');
    await expect(page.getByTestId('pin-input')).toBeFocused();
    await page.keyboard.type(USER_PIN);
    await page.screenshot({ path: test.info().outputPath('smartcard-pin-dialog.png') });
    await page.keyboard.press('Enter');
    await expect(dialog).toHaveCount(0);
    const r = await signed;
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe('256');
    const entries = journal();
    expect(entries.some((e) => e.kind === 'smartcard.pin' && e.level === 'high' && e.outcome === 'typed')).toBe(true);
    expect(entries.some((e) => e.kind === 'smartcard.login' && e.level === 'high' && e.ok === true)).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(USER_PIN);
  });

  test('a wrong PIN typed in the dialog is refused by the card, journaled as a failed login without the PIN', async ({ page }) => {
    await page.goto(await sup.launchUrl());
    // The cages may still be starting on a busy machine.
    await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    const before = journal().length;
    const signed = signInHigh();
    await expect(page.getByTestId('pin-dialog')).toHaveAttribute('data-armed', 'true', { timeout: 20_000 });
    // Not digits alone: the journal's hex hashes once held "000111" by chance (a clean-clone CI run).
    await page.keyboard.type(WRONG_PIN);
    await page.keyboard.press('Enter');
    const r = await signed;
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/CKR_PIN_INCORRECT/);
    const entries = journal().slice(before);
    expect(entries.some((e) => e.kind === 'smartcard.login' && e.level === 'high' && e.ok === false)).toBe(true);
    expect(JSON.stringify(journal())).not.toContain(WRONG_PIN);
  });

  test('Escape cancels: the cage is refused, journaled as cancelled', async ({ page }) => {
    await page.goto(await sup.launchUrl());
    // The cages may still be starting on a busy machine.
    await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    const cancelled = signInHigh();
    await expect(page.getByTestId('pin-dialog')).toHaveAttribute('data-armed', 'true', { timeout: 20_000 });
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('pin-dialog')).toHaveCount(0);
    const r = await cancelled;
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/CKR_FUNCTION_CANCELED/);
    expect(journal().some((e) => e.kind === 'smartcard.pin' && e.level === 'high' && e.outcome === 'cancelled')).toBe(true);
  });
});
