/**
 * The pointer lands where the user points (issue #25): at window shapes other than the cage's
 * (the cage letterboxed in its frame), at device pixel ratios 1, 1.5 and 2, and in split view, the
 * cage's own X server puts the pointer, the clicks, the wheel and the drags on the cage pixel under
 * the page point, within 1 px. The cages keep a fixed 1280x800 screen here: a cage that fills its
 * frame (geometry: auto) would hide a letterbox offset. Real Chromium, real cages; the page's
 * mouse is Chromium's own input (Playwright), read back from the cage's X server.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { buttonEvents, pagePointFor, pointerReaches, POINTER_LOGGER_APP, type ButtonEvent } from './support/cagePointer';
import { openShell, startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const CAGE = { width: 1280, height: 800 };
const UID = { low: 57_410, high: 57_411 } as const;
type Level = keyof typeof UID;

let sup: SupervisorProcess;

test.beforeAll(async () => {
  const cage = (uid: number) => `{ driver: bwrap, network: none, geometry: ${CAGE.width}x${CAGE.height}, uid: ${uid}, apps: [${POINTER_LOGGER_APP}] }`;
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UID.low), high: cage(UID.high) }));
});

test.afterAll(async () => {
  await sup?.stop();
});

/** Cage pixels to aim at: the corners (the top edge was out of reach), the centre, an odd one. */
const TARGETS: Array<[number, number]> = [
  [3, 2],
  [CAGE.width - 4, 2],
  [CAGE.width / 2, CAGE.height / 2],
  [2, CAGE.height - 3],
  [CAGE.width - 3, CAGE.height - 4],
  [917, 133],
];

async function shellAt(browser: Browser, viewport: { width: number; height: number }, deviceScaleFactor: number): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor, locale: 'fr-FR' });
  const page = await context.newPage();
  await openShell(page, sup);
  expect(await page.evaluate(() => window.devicePixelRatio)).toBe(deviceScaleFactor);
  return page;
}

async function viewerBox(page: Page, level: Level) {
  const box = await page.getByTestId(`viewer-${level}`).boundingBox();
  if (!box) throw new Error(`no box for ${level}'s viewer`);
  return box;
}

/**
 * Moves the page's pointer over cage pixel (px, py) and waits until the cage's X server has it
 * there, aimed again with the frame of each try (pointerReaches).
 */
async function pointAt(page: Page, level: Level, px: number, py: number) {
  return pointerReaches(UID[level], `${level}: pointer to cage pixel ${px},${py}`, async () => {
    const { page: at, expected } = pagePointFor(await viewerBox(page, level), CAGE, px, py, await page.evaluate(() => window.devicePixelRatio));
    // The screen pixel nearest the aimed cage pixel is over it or its neighbour; the cage must get the one under it, ±1.
    expect(Math.abs(expected.x - px), `aim at x ${px}`).toBeLessThanOrEqual(1);
    expect(Math.abs(expected.y - py), `aim at y ${py}`).toBeLessThanOrEqual(1);
    await page.mouse.move(at.x, at.y);
    return { at, expected };
  });
}

function near(event: ButtonEvent | undefined, expected: { x: number; y: number }): boolean {
  return Boolean(event) && Math.abs(event!.x - expected.x) <= 1 && Math.abs(event!.y - expected.y) <= 1;
}

/** Clicks at cage pixel (px, py) and checks the cage's X server saw the press and release there. */
async function clickAt(page: Page, level: Level, px: number, py: number): Promise<void> {
  const before = buttonEvents(sup.homeOf(level)).length;
  const { expected } = await pointAt(page, level, px, py);
  await page.mouse.down();
  await page.mouse.up();
  await expect
    .poll(() => buttonEvents(sup.homeOf(level)).slice(before).map((e) => `${e.kind} ${e.button}`), { message: `${level}: click at ${expected.x},${expected.y}`, timeout: 5000 })
    .toEqual(['press 1', 'release 1']);
  const [press, release] = buttonEvents(sup.homeOf(level)).slice(before);
  expect(near(press, expected), `press at ${press?.x},${press?.y}, aimed ${expected.x},${expected.y}`).toBe(true);
  expect(near(release, expected), `release at ${release?.x},${release?.y}, aimed ${expected.x},${expected.y}`).toBe(true);
}

const SHAPES: Array<{ width: number; height: number; dpr: number[] }> = [
  { width: 945, height: 1060, dpr: [1, 2] }, // the tall window
  { width: 1900, height: 700, dpr: [1, 1.5] }, // the wide one
  { width: 1280, height: 800, dpr: [1, 2] }, // the cage's own size (the frame is still smaller: band, border)
  { width: 800, height: 1200, dpr: [1.5, 2] },
  { width: 1600, height: 1000, dpr: [1, 2] },
];

for (const shape of SHAPES) {
  for (const dpr of shape.dpr) {
    test(`clicks land on the cage pixel under the pointer in a ${shape.width}x${shape.height} window at pixel ratio ${dpr}`, async ({ browser }) => {
      const page = await shellAt(browser, shape, dpr);
      for (const [px, py] of TARGETS) await clickAt(page, 'low', px, py);
      await page.screenshot({ path: test.info().outputPath(`pointer-${shape.width}x${shape.height}@${dpr}.png`) });
      await page.context().close();
    });
  }
}

test('in split view, each cage gets the point under the pointer, clicks, wheel and drags included', async ({ browser }) => {
  const page = await shellAt(browser, { width: 1700, height: 900 }, 1.5);
  await page.getByTestId('open-overview').click();
  await page.getByTestId('overview-layout').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
  for (const level of ['low', 'high'] as const) {
    // The first click in a cage that does not have the keyboard only gives it the keyboard.
    if ((await page.getByTestId(`cage-frame-${level}`).getAttribute('data-front')) !== 'true') {
      const before = buttonEvents(sup.homeOf(level)).length;
      const box = await viewerBox(page, level);
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await page.waitForTimeout(300);
      expect(buttonEvents(sup.homeOf(level)).length, 'the click that gave the cage the keyboard reached it').toBe(before);
    }
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', level);
    for (const [px, py] of TARGETS) await clickAt(page, level, px, py);

    // Wheel: the cage's buttons 4 and 5, at the point under the pointer.
    const before = buttonEvents(sup.homeOf(level)).length;
    const { expected } = await pointAt(page, level, 400, 300);
    await page.mouse.wheel(0, 120);
    await expect.poll(() => buttonEvents(sup.homeOf(level)).slice(before).filter((e) => e.kind === 'press' && e.button === 5).length, { timeout: 5000 }).toBeGreaterThan(0);
    for (const e of buttonEvents(sup.homeOf(level)).slice(before)) expect(near(e, expected), `wheel ${e.kind} ${e.button} at ${e.x},${e.y}, aimed ${expected.x},${expected.y}`).toBe(true);

    // Drag: pressed at one pixel, released at another.
    const dragStart = buttonEvents(sup.homeOf(level)).length;
    const from = await pointAt(page, level, 100, 700);
    await page.mouse.down();
    const to = pagePointFor(await viewerBox(page, level), CAGE, 1100, 90, 1.5);
    await page.mouse.move(to.page.x, to.page.y, { steps: 8 });
    await page.mouse.up();
    await expect.poll(() => buttonEvents(sup.homeOf(level)).slice(dragStart).length, { timeout: 5000 }).toBe(2);
    const [press, release] = buttonEvents(sup.homeOf(level)).slice(dragStart);
    expect(press?.kind).toBe('press');
    expect(near(press, from.expected), `drag pressed at ${press?.x},${press?.y}, aimed ${from.expected.x},${from.expected.y}`).toBe(true);
    expect(release?.kind).toBe('release');
    expect(near(release, to.expected), `drag released at ${release?.x},${release?.y}, aimed ${to.expected.x},${to.expected.y}`).toBe(true);
  }
  await page.screenshot({ path: test.info().outputPath('pointer-split.png') });
  await page.context().close();
});
