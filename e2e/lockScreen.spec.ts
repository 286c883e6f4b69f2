/**
 * The lock screen with two real cages (blue terminals, X key loggers) and the machine's real PAM
 * stack (an account the test makes, with its own PAM service file): it locks by idle time, from
 * the overview and by its shortcut; while locked no cage pixel and no level colour is on screen
 * and no key reaches a cage; the password prompt appears only after the secure-attention key; a
 * wrong password is journaled and delays the next try; the right one brings back the same level,
 * layout and work. A cage painting a look-alike lock screen gets nothing: the secure-attention key
 * brings up the real trusted UI, and what the user then types reaches no cage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { createPamTestUser, type PamTestUser } from '../supervisor/testing/pamTestUser';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { cageLongLivedPids } from './support/cageByUid';
import { KEY_LOGGER_APP, rawKeyPresses, typeUntilLogged } from './support/cageProbes';
import { Screenshot } from './support/pixels';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

const UIDS = { low: 59741, high: 59742 };
const BLUE_TERMINAL = "[xterm, -geometry, 120x40+0+0, -bg, '#2050d0', -fg, white]";
/** A program in the high cage that looks like a lock screen and keeps what is typed into it. */
const FAKE_LOCK = `[xterm, -geometry, 120x40+0+0, -bg, black, -fg, grey, -e, sh, -c, 'printf "\\n   Session verrouillée\\n\\n   Mot de passe : "; read p; echo "$p" > $HOME/stolen.txt; sleep 600']`;

function policy(account: PamTestUser, lockAfterSeconds: number, highApps = BLUE_TERMINAL): string {
  const cage = (uid: number, apps: string) => bwrapCage({ uid, geometry: '1024x640', apps: `[${apps}, ${KEY_LOGGER_APP}]` });
  return twoLevelPolicy({ low: cage(UIDS.low, BLUE_TERMINAL), high: cage(UIDS.high, highApps) }, `session: { lockAfterSeconds: ${lockAfterSeconds}, pamService: ${account.service} }\n`);
}

/** Every pixel a grey (black, white and the greys between): no level colour, no blue terminal. */
function onlyGreys(shot: Screenshot): boolean {
  for (let y = 0; y < shot.height; y += 2) {
    for (let x = 0; x < shot.width; x += 2) {
      const [r, g, b] = shot.at(x, y);
      if (Math.max(r, g, b) - Math.min(r, g, b) > 12) return false;
    }
  }
  return true;
}

function journal(sup: SupervisorProcess): Array<Record<string, unknown> & { kind: string; actor: string }> {
  return readFileSync(`${sup.stateDir}/audit.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function openShell(page: Page, sup: SupervisorProcess): Promise<void> {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
}

async function unlock(page: Page, password: string): Promise<void> {
  await page.keyboard.press('Pause');
  await expect(page.getByTestId('unlock-prompt')).toBeVisible();
  await page.getByTestId('unlock-password').fill(password);
  await page.keyboard.press('Enter');
}

let account: PamTestUser;
test.beforeAll(() => {
  account = createPamTestUser();
});
test.afterAll(() => account?.remove());

test.describe('locked by idle time', () => {
  let sup: SupervisorProcess;
  // The browser first (the fixture asked for here is launched before the hook runs): the idle
  // clock runs from the supervisor's cages being up, and a Chromium launched only for the test,
  // after it, took 11 s on a loaded machine — the 10 s ran out before the shell page was open.
  test.beforeAll(async ({ browser }) => {
    expect(browser.isConnected()).toBe(true);
    sup = await startSupervisor(policy(account, 10), { extraArgs: ['--shell-user', account.user] });
  });
  test.afterAll(async () => sup?.stop());

  test('input keeps it open; idle, it locks: no cage pixel, no level colour, no key to a cage; wrong then right password', async ({ page }) => {
    // The pointer moves from the moment the page is there, as a user's hand does, while the
    // viewers connect: on a loaded machine that wait alone can outlast the 10 s (the page loses
    // a report sent before its connection to the supervisor is up, so it is not moved just once).
    await page.goto(await sup.launchUrl());
    await expect(page.getByTestId('lock-screen'), 'locked before the shell page was open: the 10 s ran out before any input could be given').toHaveCount(0, { timeout: 5000 });
    await expect
      .poll(
        async () => {
          await page.mouse.move(200 + Math.random() * 400, 200 + Math.random() * 300);
          const connected = await Promise.all(['low', 'high'].map((level) => page.getByTestId(`cage-frame-${level}`).getAttribute('data-viewer')));
          return connected.join(' ');
        },
        { message: 'both viewers connected', timeout: 15_000, intervals: [500] },
      )
      .toBe('connected connected');
    await typeUntilLogged(page, 'low', sup.homeOf('low'));
    const unlocked = new Screenshot(await page.screenshot());
    expect(onlyGreys(unlocked), 'the blue terminal and the band colour are on screen before the lock').toBe(false);

    // Input to the shell moves the deadline: twelve seconds of typing, a key a second, and no lock.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Shift');
      await page.waitForTimeout(1000);
    }
    await expect(page.getByTestId('lock-screen')).toHaveCount(0);

    // No input: locked within the idle time (and a few seconds of reporting).
    await expect(page.getByTestId('lock-screen')).toBeVisible({ timeout: 16_000 });
    await expect(page.getByTestId('cage-frame-low')).toHaveCount(0);
    await expect(page.getByTestId('lock-band')).not.toContainText(/Bas|Haut/);
    const locked = new Screenshot(await page.screenshot({ path: test.info().outputPath('locked.png') }));
    expect(onlyGreys(locked), 'nothing but greys on the lock screen').toBe(true);

    // Keys typed at the lock screen reach no cage.
    const before = { low: rawKeyPresses(sup.homeOf('low')).length, high: rawKeyPresses(sup.homeOf('high')).length };
    await page.keyboard.type('typed while locked\n', { delay: 10 });
    await page.waitForTimeout(500);
    expect({ low: rawKeyPresses(sup.homeOf('low')).length, high: rawKeyPresses(sup.homeOf('high')).length }).toEqual(before);

    // The prompt only after the secure-attention key, with the trust phrase.
    await expect(page.getByTestId('unlock-prompt')).toHaveCount(0);
    await page.keyboard.press('Pause');
    await expect(page.getByTestId('unlock-prompt')).toBeVisible();
    // How long the button stays disabled once the failure shows, recorded in the page as it
    // happens: read after the checks below, a 3 s delay can be over on a loaded machine.
    await page.evaluate(() => {
      const record: { failedAt?: number; disabledAfterFailure?: boolean; enabledAfterMs?: number } = {};
      (window as unknown as { unlockDelay: typeof record }).unlockDelay = record;
      const check = () => {
        const submit = document.querySelector<HTMLButtonElement>('[data-testid=unlock-submit]');
        if (!submit || !document.querySelector('[data-testid=unlock-failures]')) return;
        record.failedAt ??= performance.now();
        if (submit.disabled) record.disabledAfterFailure = true;
        else if (record.disabledAfterFailure && record.enabledAfterMs === undefined) record.enabledAfterMs = performance.now() - record.failedAt;
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'] });
    });
    await page.getByTestId('unlock-password').fill('not the password');
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('unlock-message')).toBeVisible();
    await expect(page.getByTestId('unlock-failures')).toContainText('1');
    await expect(page.getByTestId('unlock-trust')).toContainText(TEST_TRUST_PHRASE);
    await page.screenshot({ path: test.info().outputPath('unlock-refused.png') });
    const failure = journal(sup).find((r) => r.kind === 'session.unlock-failed');
    expect(failure).toMatchObject({ actor: 'user', user: account.user, failures: 1, delayMs: 3000 });
    expect(readFileSync(`${sup.stateDir}/audit.jsonl`, 'utf8')).not.toContain('not the password');

    await expect(page.getByTestId('unlock-submit')).toBeEnabled({ timeout: 5000 });
    // The delay ran: disabled once the failure showed, and for about its 3 s (whole seconds counted down).
    const delay = await page.evaluate(() => (window as unknown as { unlockDelay: { disabledAfterFailure?: boolean; enabledAfterMs?: number } }).unlockDelay);
    expect(delay.disabledAfterFailure, 'the unlock button was disabled after the failure').toBe(true);
    expect(delay.enabledAfterMs, 'the unlock button came back after the delay, not before').toBeGreaterThanOrEqual(2500);
    await page.getByTestId('unlock-password').fill(account.password);
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('lock-screen')).toHaveCount(0);
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
    await typeUntilLogged(page, 'low', sup.homeOf('low'));
  });
});

test.describe('locked by the user', () => {
  let sup: SupervisorProcess;
  test.beforeAll(async () => {
    sup = await startSupervisor(policy(account, 600, FAKE_LOCK), { extraArgs: ['--shell-user', account.user] });
  });
  test.afterAll(async () => sup?.stop());

  test('from the overview and by Super+L; unlocking brings back the same level, layout and work', async ({ page }) => {
    await openShell(page, sup);
    await page.getByTestId('switch-low').click();
    const kept = () => (existsSync(`${sup.homeOf('low')}/kept.txt`) ? readFileSync(`${sup.homeOf('low')}/kept.txt`, 'utf8').trim() : '');
    const sessionLog = () => (existsSync(`${sup.homeOf('low')}/.cloison-session.log`) ? readFileSync(`${sup.homeOf('low')}/.cloison-session.log`, 'utf8').slice(-2000) : '(no session log)');
    await expect
      .poll(
        async () => {
          await page.getByTestId('viewer-low').click({ position: { x: 300, y: 300 } });
          await page.keyboard.type('echo kept > ~/kept.txt\n', { delay: 10 });
          await page.waitForTimeout(300);
          return kept();
        },
        { timeout: 20_000 },
      )
      .toBe('kept')
      .catch((err: Error) => {
        throw new Error(`${err.message}\nthe low cage's session log:\n${sessionLog()}`);
      });
    await page.keyboard.press('Pause');
    await page.getByTestId('overview-layout').click();
    await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
    const pids = cageLongLivedPids(UIDS.low);

    await page.keyboard.press('Pause');
    await page.getByTestId('overview-lock').click();
    await expect(page.getByTestId('lock-screen')).toBeVisible();
    await unlock(page, account.password);
    await expect(page.getByTestId('lock-screen')).toHaveCount(0);
    await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
    await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
    expect(cageLongLivedPids(UIDS.low)).toEqual(expect.arrayContaining(pids));
    expect(kept()).toBe('kept');

    // The shortcut: Super+L locks, and its L reaches no cage.
    const lBefore = rawKeyPresses(sup.homeOf('low')).filter((k) => k === 46).length;
    await page.getByTestId('viewer-low').click({ position: { x: 100, y: 100 } });
    await page.keyboard.press('Meta+l');
    await expect(page.getByTestId('lock-screen')).toBeVisible();
    expect(rawKeyPresses(sup.homeOf('low')).filter((k) => k === 46).length).toBe(lBefore);
    await unlock(page, account.password);
    await expect(page.getByTestId('lock-screen')).toHaveCount(0);
    expect(journal(sup).filter((r) => r.kind === 'session.lock').map((r) => r.cause)).toEqual(['user', 'user']);
  });

  test('a cage painting a lock screen: the secure-attention key brings the real trusted UI, and the password reaches no cage', async ({ page }) => {
    await openShell(page, sup);
    await page.getByTestId('switch-high').click();
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
    await page.waitForTimeout(800);
    await page.screenshot({ path: test.info().outputPath('fake-lock.png') });
    const before = rawKeyPresses(sup.homeOf('high')).length;

    // The user, taught to press the secure-attention key first, does so: the real overview, not a prompt.
    await page.getByTestId('viewer-high').click({ position: { x: 300, y: 300 } });
    await page.keyboard.press('Pause');
    await expect(page.getByTestId('trusted-overview')).toBeVisible();
    await expect(page.getByTestId('unlock-prompt')).toHaveCount(0);
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high'); // not locked: the band is there
    await page.keyboard.type(`${account.password}\n`, { delay: 10 });
    await page.waitForTimeout(800);
    expect(rawKeyPresses(sup.homeOf('high')).length).toBe(before);
    expect(existsSync(`${sup.homeOf('high')}/stolen.txt`)).toBe(false);
  });
});
