/**
 * A start on a busy machine: each viewer frame's page is slow to load (its script held back here
 * longer than the watch's silent limit, as a loaded machine's new renderer process and script
 * were in the start profiles). Each frame is loaded once — not replaced before it could say ready,
 * which started its load again from nothing — and its cage is painted as soon as it speaks.
 * A viewer that truly stops is still replaced: viewerIsolation.spec.ts.
 */
import { expect, test } from '@playwright/test';
import { startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

/** Past the watch's silent limit (viewerWatch.ts, 6 s) and its next tick: before, each frame was replaced, again and again. */
const SCRIPT_HELD_MS = 10_000;
const LEVELS = ['low', 'high'] as const;

let sup: SupervisorProcess;

test.describe.configure({ timeout: 180_000 });
test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy());
});
test.afterAll(async () => {
  await sup?.stop();
});

test('a viewer page slow to load is loaded once, not replaced before its ticket, and painted as soon as it speaks', async ({ page }) => {
  // The viewer's script (its bundle, served by each viewer origin) answers late; nothing else does.
  const released: number[] = [];
  await page.route(/\/assets\/viewer-[^/]*\.js$/, async (route) => {
    await new Promise((r) => setTimeout(r, SCRIPT_HELD_MS));
    released.push(Date.now());
    await route.continue();
  });
  const loads = new Map<string, number>();
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame() || !f.url().includes('/viewer.html')) return;
    const origin = new URL(f.url()).origin;
    loads.set(origin, (loads.get(origin) ?? 0) + 1);
  });

  await page.goto(await sup.launchUrl());
  const connectedAt: Record<string, number> = {};
  // Waited for, then the frames' loads read first: before the fix they were replaced again and again.
  const connecting = Promise.all(
    LEVELS.map(async (level) => {
      await expect(page.getByTestId(`cage-frame-${level}`)).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
      connectedAt[level] = Date.now();
    }),
  ).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const notConnected = await connecting;

  const frameLoads: Record<string, number> = {};
  for (const level of LEVELS) {
    const origin = new URL((await page.getByTestId(`viewer-frame-${level}`).getAttribute('src'))!).origin;
    frameLoads[level] = loads.get(origin) ?? 0;
  }
  const generations = await Promise.all(LEVELS.map((level) => page.getByTestId(`viewer-frame-${level}`).getAttribute('data-generation')));
  const firstRelease = Math.min(...released);
  console.log(`viewer script held ${SCRIPT_HELD_MS} ms; frame loads ${JSON.stringify(frameLoads)}; scripts served ${released.length}; connected ${LEVELS.map((l) => `${l} ${connectedAt[l] === undefined ? 'never' : `${connectedAt[l] - firstRelease} ms`}`).join(', ')} after the first script was served`);
  expect(frameLoads, 'each viewer frame loaded once').toEqual({ low: 1, high: 1 });
  expect(generations, 'no viewer frame replaced').toEqual(['0', '0']);
  expect(released.length, 'each viewer script asked for once').toBe(2);
  expect(notConnected, 'both viewers connected').toBeUndefined();
  await expect(page.frameLocator('[data-testid=viewer-frame-low]').locator('canvas').first(), 'the cage is painted').toBeVisible();
  // Connected once its script ran: its ticket asked and the cage answered, with a loaded machine's room.
  for (const level of LEVELS) expect(connectedAt[level]! - firstRelease, `${level} connected soon after its script ran`).toBeLessThan(10_000);
});
