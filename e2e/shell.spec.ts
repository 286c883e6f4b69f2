/**
 * End to end in Chromium, with two real cages: the shell shows the level in front in its band
 * and frame, the switch shortcut moves both to the other level, and typing lands only in the cage
 * in front.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HIGH_COLOUR, LOW_COLOUR } from '../supervisor/testing/testPolicy';
import { expect, test, type Page } from '@playwright/test';
import { Screenshot } from './support/pixels';
import { openShell as openShellOf, startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

const LOW = LOW_COLOUR;
const HIGH = HIGH_COLOUR;

let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy());
});

test.afterAll(async () => {
  await sup?.stop();
});

const openShell = (page: Page) => openShellOf(page, sup);

/** Band strip and frame edges, away from the band's text and buttons. */
function trustedSamples(shot: Screenshot): Array<[number, number]> {
  const { width, height } = shot;
  return [
    [2, 2], [width - 3, 2], [200, 45], [width / 2, 3], // band
    [2, 400], [width - 3, 400], [width / 2, height - 3], [3, 60], // frame edges
  ].map(([x, y]) => [Math.round(x!), Math.round(y!)]);
}

/**
 * Clicks into the cage's terminal and types a command line until its effect shows. A cage that has
 * just started may still be building its font cache, and keys typed before its window manager
 * focuses the terminal go nowhere: the user would type again, and so does the test.
 */
async function typeCommandUntil(page: Page, level: string, command: string, done: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.getByTestId(`viewer-${level}`).click({ position: { x: 300, y: 300 } });
    await page.keyboard.type(command, { delay: 10 });
    await page.keyboard.press('Enter');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      if (done()) return;
      await page.waitForTimeout(100);
    }
  }
  throw new Error(`"${command}" typed five times into ${level} had no effect`);
}

async function screenshot(page: Page, name: string): Promise<Screenshot> {
  const buffer = await page.screenshot({ path: test.info().outputPath(`${name}.png`) });
  return new Screenshot(buffer);
}

test('shows the low level in the band and frame, then the high level after the switch shortcut', async ({ page }) => {
  await openShell(page);
  const band = page.getByTestId('level-band');
  await expect(band).toHaveAttribute('data-level', 'low');
  await expect(page.getByTestId('band-level-name')).toContainText('Bas');
  await expect(page.getByTestId('cage-frame-low')).toBeVisible();
  await expect(page.getByTestId('cage-frame-high')).toBeHidden();
  const low = await screenshot(page, 'low');
  for (const [x, y] of trustedSamples(low)) expect(low.coloursIn(x, y, x + 1, y + 1), `pixel ${x},${y}`).toEqual(new Set([LOW]));

  await page.keyboard.press('Control+Alt+PageDown');
  await expect(band).toHaveAttribute('data-level', 'high');
  await expect(page.getByTestId('band-level-name')).toContainText('Haut');
  await expect(page.getByTestId('cage-frame-high')).toBeVisible();
  await expect(page.getByTestId('cage-frame-low')).toBeHidden();
  await expect(page.frameLocator('[data-testid=viewer-frame-high]').locator('canvas')).toBeVisible();
  const high = await screenshot(page, 'high');
  for (const [x, y] of trustedSamples(high)) expect(high.coloursIn(x, y, x + 1, y + 1), `pixel ${x},${y}`).toEqual(new Set([HIGH]));

  // The band button switches back.
  await page.getByTestId('switch-low').click();
  await expect(band).toHaveAttribute('data-level', 'low');
});

test('types into the cage in front only', async ({ page }) => {
  await openShell(page);
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
  // The supervisor confirmed the switch: from now on the gateway lets keys through to high only.
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
  const marker = `typed-${Date.now()}`;
  const inHigh = join(sup.homeOf('high'), 'typed.txt');
  await typeCommandUntil(page, 'high', `echo ${marker} > ~/typed.txt`, () => (existsSync(inHigh) ? readFileSync(inHigh, 'utf8').trim() : '') === marker);
  expect(existsSync(join(sup.homeOf('low'), 'typed.txt'))).toBe(false);
  await screenshot(page, 'typed-in-high');

  // Back to low: the same keys now land in low, and high's file is untouched.
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'low');
  const inLow = join(sup.homeOf('low'), 'typed.txt');
  await typeCommandUntil(page, 'low', 'echo low-side > ~/typed.txt', () => (existsSync(inLow) ? readFileSync(inLow, 'utf8').trim() : '') === 'low-side');
  expect(readFileSync(inHigh, 'utf8').trim()).toBe(marker);
});

test('serves only the built renderer: traversal and malformed addresses get errors', async ({ page }) => {
  for (const path of ['/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/assets/%2e%2e/%2e%2e/package.json']) {
    const r = await page.request.get(sup.origin + path);
    expect(r.status(), path).toBe(404);
  }
  expect((await page.request.get(sup.origin + '/%E0%A4%A')).status()).toBe(400);
  const index = await page.request.get(sup.origin + '/');
  expect(index.status()).toBe(200);
  expect(index.headers()['content-security-policy']).toContain("script-src 'self'");
});

test('refuses the shell without the launch token', async ({ page }) => {
  await page.goto(sup.origin + '/');
  await expect(page.getByTestId('shell-offline')).toBeVisible();
  await expect(page.getByTestId('level-band')).toHaveCount(0);
});
