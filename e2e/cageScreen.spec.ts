/**
 * Cages fill their frame (issue #26): with `geometry: auto` (the default) the cage's X screen is
 * its frame's size in device pixels, as the window is resized, split and at pixel ratio 2; the
 * pointer reaches every one of those pixels; and at 1920x1080 the cage's desktop — a muted tone of
 * its level's colour — reaches every edge of the frame, no black margin. Real Chromium, real
 * cages; sizes read back from each cage's own X server.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { desktopTone } from '../supervisor/screen/xScreen';
import { HIGH_COLOUR, LOW_COLOUR, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { cagePointer, cageScreenSize, pagePointFor, POINTER_LOGGER_APP } from './support/cagePointer';
import { Screenshot } from './support/pixels';
import { openShell, startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const UID = { low: 57_420, high: 57_421 } as const;
type Level = keyof typeof UID;

let sup: SupervisorProcess;

test.beforeAll(async () => {
  // No geometry: auto is the default. Only the pointer logger runs: the desktop is bare.
  const cage = (uid: number) => `{ driver: bwrap, network: none, uid: ${uid}, apps: [${POINTER_LOGGER_APP}] }`;
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UID.low), high: cage(UID.high) }));
});

test.afterAll(async () => {
  await sup?.stop();
});

async function shellAt(browser: Browser, viewport: { width: number; height: number }, deviceScaleFactor: number): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor, locale: 'fr-FR' });
  const page = await context.newPage();
  await openShell(page, sup);
  return page;
}

async function frameInDevicePixels(page: Page, level: Level): Promise<{ width: number; height: number }> {
  const box = (await page.getByTestId(`viewer-${level}`).boundingBox())!;
  const dpr = await page.evaluate(() => window.devicePixelRatio);
  return { width: Math.round(box.width * dpr), height: Math.round(box.height * dpr) };
}

/** The cage's X screen is its frame's size in device pixels, within a pixel of rounding. */
async function expectScreenFitsFrame(page: Page, level: Level, what: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const [frame, screen] = [await frameInDevicePixels(page, level), await cageScreenSize(UID[level])];
        return Math.abs(frame.width - screen.width) <= 1 && Math.abs(frame.height - screen.height) <= 1 ? 'fits' : `frame ${frame.width}x${frame.height}, screen ${screen.width}x${screen.height}`;
      },
      { message: `${level}'s screen fits its frame (${what})`, timeout: 10_000 },
    )
    .toBe('fits');
}

test('the cage screen follows its frame: three window sizes, then split view', async ({ browser }) => {
  const page = await shellAt(browser, { width: 1280, height: 800 }, 1);
  for (const size of [{ width: 1280, height: 800 }, { width: 945, height: 1060 }, { width: 1900, height: 700 }]) {
    await page.setViewportSize(size);
    await expectScreenFitsFrame(page, 'low', `window ${size.width}x${size.height}`);
    // The cage behind has the same frame in single view: it is ready when the user switches.
    await expectScreenFitsFrame(page, 'high', `window ${size.width}x${size.height}, behind`);
  }
  await page.getByTestId('open-overview').click();
  await page.getByTestId('overview-layout').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
  for (const level of ['low', 'high'] as const) await expectScreenFitsFrame(page, level, 'split view');
  const frame = await frameInDevicePixels(page, 'low');
  expect(frame.width).toBeLessThan(1900 / 2); // split: half the window each, not the whole
  await page.screenshot({ path: test.info().outputPath('split-1900x700.png') });
  await page.context().close();
});

test('at pixel ratio 2 the screen is in device pixels, and the pointer reaches odd and even pixels', async ({ browser }) => {
  const page = await shellAt(browser, { width: 1100, height: 700 }, 2);
  await expectScreenFitsFrame(page, 'low', 'pixel ratio 2');
  const screen = await cageScreenSize(UID.low);
  expect(screen.width).toBeGreaterThan(2000); // twice the CSS width: sharp, not blown up
  const reached: string[] = [];
  for (const [px, py] of [[100, 76], [101, 77], [102, 78], [103, 79], [screen.width - 2, 1], [1, screen.height - 2]] as const) {
    // The frame and the screen are read again at each try: under load the band can still settle
    // (a late reflow resizes the frame, the supervisor the screen) after the first fit was seen,
    // and the viewer maps the pointer with the geometry of that moment, which is what is checked.
    let aimed = '';
    await expect
      .poll(async () => {
        const now = await cageScreenSize(UID.low);
        const box = (await page.getByTestId('viewer-low').boundingBox())!;
        const target = [px === screen.width - 2 ? now.width - 2 : px, py === screen.height - 2 ? now.height - 2 : py] as const;
        const { page: at, expected } = pagePointFor(box, now, target[0], target[1], 2);
        if (Math.max(Math.abs(expected.x - target[0]), Math.abs(expected.y - target[1])) > 1) return `aim at ${target.join(',')} lands on ${expected.x},${expected.y}`;
        await page.mouse.move(at.x, at.y);
        aimed = `${expected.x},${expected.y}`;
        await new Promise((resolve) => setTimeout(resolve, 100));
        const p = await cagePointer(UID.low);
        return `${p.x},${p.y}` === aimed ? 'reached' : `pointer at ${p.x},${p.y}, expected ${aimed} (screen ${now.width}x${now.height}, frame ${box.width}x${box.height} CSS px)`;
      }, { message: `pointer reaches cage pixel ${px},${py}`, timeout: 10_000, intervals: [250, 500, 1000] })
      .toBe('reached');
    reached.push(aimed);
  }
  // Four neighbouring screen pixels, four neighbouring cage pixels: none skipped (a CSS pixel is two).
  const diagonal = reached.slice(0, 4).map((p) => p.split(',').map(Number));
  for (let i = 1; i < 4; i++) expect([diagonal[i]![0]! - diagonal[i - 1]![0]!, diagonal[i]![1]! - diagonal[i - 1]![1]!]).toEqual([1, 1]);
  await page.context().close();
});

test('at 1920x1080 the cage fills its frame: its desktop, in its level tone, reaches every edge', async ({ browser }) => {
  const page = await shellAt(browser, { width: 1920, height: 1080 }, 1);
  await expectScreenFitsFrame(page, 'low', '1920x1080');
  const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 6);
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  for (const [level, colour] of [['low', LOW_COLOUR], ['high', HIGH_COLOUR]] as const) {
    if (level === 'high') await page.getByTestId('switch-high').click();
    await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', level);
    const tone = rgb(desktopTone(colour));
    const innerEdges = (box: { x: number; y: number; width: number; height: number }) =>
      [
        [box.x + 1, box.y + 1], [box.x + box.width - 2, box.y + 1], [box.x + 1, box.y + box.height - 2], [box.x + box.width - 2, box.y + box.height - 2],
        [box.x + box.width / 2, box.y + 1], [box.x + box.width / 2, box.y + box.height - 2], [box.x + 1, box.y + box.height / 2], [box.x + box.width - 2, box.y + box.height / 2],
      ].map(([x, y]) => [Math.round(x!), Math.round(y!)] as const);
    const first = (await page.getByTestId(`viewer-${level}`).boundingBox())!;
    // Away from the pointer (its arrow is drawn in the cage's framebuffer).
    await page.mouse.move(first.x + first.width / 3, first.y + first.height / 3);
    // The frame is read again at each try: under load the band can still settle after the first
    // fit (a late reflow moves the frame's edges, the supervisor resizes the screen after it).
    await expect
      .poll(async () => {
        const box = (await page.getByTestId(`viewer-${level}`).boundingBox())!;
        const shot = new Screenshot(await page.screenshot({ path: test.info().outputPath(`fill-1920x1080-${level}.png`) }));
        const off = innerEdges(box).filter(([x, y]) => !close([...shot.at(x, y)], tone)).map(([x, y]) => `${x},${y}: ${shot.at(x, y).join(',')}`);
        return off.length === 0 ? [] : [`frame ${box.width}x${box.height} at ${box.x},${box.y}; screen ${JSON.stringify(await cageScreenSize(UID[level]))}`, ...off];
      }, { message: `${level}'s desktop tone ${desktopTone(colour)} at the frame's inner edges`, timeout: 20_000 })
      .toEqual([]);
  }
  await page.context().close();
});
