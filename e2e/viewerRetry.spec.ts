/**
 * A cage that makes its viewer stop again and again (bytes that hang each new frame as soon as it
 * connects) no longer has the trusted page make a new frame each time: the first stop is replaced
 * at once, the next one only after a back-off (viewerRetry.ts), during which no frame is loaded
 * and the level's overlay, the band and the overview say its display is being retried. Then a new
 * frame connects, and the marks go.
 */
import { expect, test, type Page } from '@playwright/test';
import { openShell, startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy());
});
test.afterAll(async () => {
  await sup?.stop();
});

const generation = (page: Page, level: string) => page.getByTestId(`viewer-frame-${level}`).getAttribute('data-generation', { timeout: 1000 }).catch(() => null);

/** The cage's bytes hang the level's viewer: its renderer runs an endless loop from now on. */
async function hangViewer(page: Page, level: string): Promise<void> {
  const origin = new URL((await page.getByTestId(`viewer-frame-${level}`).getAttribute('src'))!).origin;
  const frame = page.frames().find((f) => f.url().startsWith(origin))!;
  void frame.evaluate('setTimeout(() => { for (;;) {} }, 0)').catch(() => undefined);
}

test('a viewer that stops again soon after it reconnected waits before its next frame, and the band and overview say so', async ({ page }) => {
  test.setTimeout(180_000);
  await openShell(page, sup);
  const high = page.getByTestId('cage-frame-high');
  await expect(high).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });

  // The first stop: a new frame at once, as before.
  const first = await generation(page, 'high');
  await hangViewer(page, 'high');
  await expect.poll(() => generation(page, 'high'), { message: 'the hung viewer frame is replaced', timeout: 30_000 }).not.toBe(first);
  await expect(high).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  await expect(page.getByTestId('viewer-retry-high')).toHaveCount(0);

  // Hung again right after: no new frame for the back-off; the level says its display is being retried.
  await hangViewer(page, 'high');
  await expect(high, 'stopped again: waits').toHaveAttribute('data-viewer', 'retrying', { timeout: 30_000 });
  await expect(page.getByTestId('viewer-frame-high'), 'no frame while it waits').toHaveCount(0);
  await expect(page.getByTestId('viewer-retry-high')).toBeVisible();
  await expect(page.getByTestId('overlay-high')).toContainText(/nouvel essai|trying again/);
  await page.keyboard.press('Pause');
  await expect(page.getByTestId('overview-viewer-retry-high')).toBeVisible();
  await page.keyboard.press('Escape');
  // The back-off over: a new frame, connected, and the marks gone.
  await expect(high).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  await expect(page.getByTestId('viewer-retry-high')).toHaveCount(0);
  // The other level was never touched.
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
});
