/**
 * The pointer as a user moves it (issue #25): the shell's Chromium headful on a host X display,
 * as npm start runs it, at window shapes other than the cage's and pixel ratios 1, 1.5 and 2, and
 * in split view; xdotool moves, clicks, scrolls and drags on the host display; the cage's own X
 * server says where its pointer and its clicks landed. Fixed 1280x800 cages: letterboxed frames.
 */
import { expect, test } from '@playwright/test';
import { twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { buttonEvents, cagePointer, pagePointFor, pointerReaches, POINTER_LOGGER_APP, type ButtonEvent, type CagePoint } from './support/cagePointer';
import { launchShellBrowser, startHostDisplay, type HostDisplay, type ShellBrowser } from './support/hostDisplay';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const CAGE = { width: 1280, height: 800 };
const UID = { low: 57_430, high: 57_431 } as const;
type Level = keyof typeof UID;

let sup: SupervisorProcess;
let display: HostDisplay;

test.beforeAll(async () => {
  const cage = (uid: number) => `{ driver: bwrap, network: none, geometry: ${CAGE.width}x${CAGE.height}, uid: ${uid}, apps: [${POINTER_LOGGER_APP}] }`;
  sup = await startSupervisor(twoLevelPolicy({ low: cage(UID.low), high: cage(UID.high) }));
  display = await startHostDisplay({ layout: 'fr', width: 2560, height: 1600 });
});

test.afterAll(async () => {
  await display?.stop();
  await sup?.stop();
});

const TARGETS: Array<[number, number]> = [
  [3, 2],
  [CAGE.width - 4, 2],
  [CAGE.width / 2, CAGE.height / 2],
  [2, CAGE.height - 3],
  [917, 133],
];

/** Closes the shell's Chromium; a profile folder Chromium is still writing is not the test's failure. */
async function closeShell(shell: ShellBrowser): Promise<void> {
  await shell.close().catch((err: Error) => console.warn(`closing the shell's Chromium: ${err.message}`));
}

async function openShellOn(size: { width: number; height: number }, deviceScaleFactor: number): Promise<ShellBrowser> {
  const shell = await launchShellBrowser(display, { url: await sup.launchUrl(), ...size, deviceScaleFactor });
  await expect(shell.page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 30_000 });
  await expect(shell.page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  expect(await shell.page.evaluate(() => window.devicePixelRatio)).toBe(deviceScaleFactor);
  return shell;
}

/** The host screen pixel over cage pixel (px, py), and the cage pixel under it. */
async function aim(shell: ShellBrowser, level: Level, px: number, py: number): Promise<{ screen: CagePoint; expected: CagePoint }> {
  const box = (await shell.page.getByTestId(`viewer-${level}`).boundingBox())!;
  const dpr = await shell.page.evaluate(() => window.devicePixelRatio);
  const { page, expected } = pagePointFor(box, CAGE, px, py, dpr);
  expect(Math.max(Math.abs(expected.x - px), Math.abs(expected.y - py)), `aim at ${px},${py}`).toBeLessThanOrEqual(1);
  return { screen: await shell.screenPoint(page.x, page.y), expected };
}

const near = (e: ButtonEvent | CagePoint | undefined, p: CagePoint) => Boolean(e) && Math.abs(e!.x - p.x) <= 1 && Math.abs(e!.y - p.y) <= 1;

async function newEvents(level: Level, before: number, count: number): Promise<ButtonEvent[]> {
  await expect.poll(() => buttonEvents(sup.homeOf(level)).length - before, { message: `${level}: ${count} button events`, timeout: 5000 }).toBeGreaterThanOrEqual(count);
  return buttonEvents(sup.homeOf(level)).slice(before);
}

/**
 * Moves the host pointer over cage pixel (px, py) and waits until the cage's X server has it there,
 * aimed again with the frame and window of each try (pointerReaches): where to click is known only
 * once the shell has stopped moving the frame.
 */
async function pointAt(shell: ShellBrowser, level: Level, px: number, py: number): Promise<{ screen: CagePoint; expected: CagePoint }> {
  return pointerReaches(UID[level], `${level}: host pointer to cage pixel ${px},${py}`, async () => {
    const aimed = await aim(shell, level, px, py);
    // Without --sync: xdotool's --sync waits for the pointer to move, forever when it is already there (a try aimed again).
    await display.xdotool('mousemove', String(aimed.screen.x), String(aimed.screen.y));
    return aimed;
  });
}

async function clickAt(shell: ShellBrowser, level: Level, px: number, py: number): Promise<void> {
  const { expected } = await pointAt(shell, level, px, py);
  const before = buttonEvents(sup.homeOf(level)).length;
  await display.xdotool('click', '1'); // where the pointer is: on the aimed pixel
  const events = await newEvents(level, before, 2);
  expect(events.map((e) => `${e.kind} ${e.button}`)).toEqual(['press 1', 'release 1']);
  for (const e of events) expect(near(e, expected), `${e.kind} at ${e.x},${e.y}, aimed ${expected.x},${expected.y}`).toBe(true);
  const pointer = await cagePointer(UID[level]);
  expect(near(pointer, expected), `pointer at ${pointer.x},${pointer.y}, aimed ${expected.x},${expected.y}`).toBe(true);
}

/** Window sizes in CSS pixels (Chromium's --window-size): times the pixel ratio, within the 2560x1600 display. */
const WINDOWS: Array<{ width: number; height: number; dpr: number }> = [
  { width: 945, height: 1060, dpr: 1 }, // the tall window
  { width: 1900, height: 700, dpr: 1 }, // and its wide one
  { width: 1280, height: 800, dpr: 2 },
  { width: 700, height: 1000, dpr: 1.5 },
  { width: 1200, height: 500, dpr: 2 },
];

for (const w of WINDOWS) {
  test(`xdotool clicks land on the cage pixel under the pointer: ${w.width}x${w.height} window at pixel ratio ${w.dpr}`, async () => {
    const shell = await openShellOn(w, w.dpr);
    try {
      for (const [px, py] of TARGETS) await clickAt(shell, 'low', px, py);
      await shell.page.screenshot({ path: test.info().outputPath(`xdotool-${w.width}x${w.height}@${w.dpr}.png`) });
    } finally {
      await closeShell(shell);
    }
  });
}

test('xdotool in split view: clicks, wheel and drag land on the pixel under the pointer in each cage', async () => {
  const shell = await openShellOn({ width: 1700, height: 1000 }, 1.5);
  try {
    const { page } = shell;
    await page.getByTestId('open-overview').click();
    await page.getByTestId('overview-layout').click();
    await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
    for (const level of ['low', 'high'] as const) {
      if ((await page.getByTestId(`cage-frame-${level}`).getAttribute('data-front')) !== 'true') {
        // The first click in a cage without the keyboard only gives it the keyboard.
        const { screen } = await aim(shell, level, 640, 400);
        const before = buttonEvents(sup.homeOf(level)).length;
        await display.click(screen.x, screen.y);
        await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', level);
        await page.waitForTimeout(300);
        expect(buttonEvents(sup.homeOf(level)).length, 'the click that gave the keyboard did not reach the cage').toBe(before);
      }
      for (const [px, py] of TARGETS) await clickAt(shell, level, px, py);

      const wheel = await pointAt(shell, level, 400, 300);
      let before = buttonEvents(sup.homeOf(level)).length;
      await display.xdotool('click', '5');
      const scrolled = await newEvents(level, before, 2);
      expect(scrolled.map((e) => `${e.kind} ${e.button}`)).toEqual(['press 5', 'release 5']);
      for (const e of scrolled) expect(near(e, wheel.expected), `wheel ${e.kind} at ${e.x},${e.y}, aimed ${wheel.expected.x},${wheel.expected.y}`).toBe(true);

      const from = await pointAt(shell, level, 100, 700);
      const to = await aim(shell, level, 1100, 90);
      before = buttonEvents(sup.homeOf(level)).length;
      // Pressed where the pointer already is (on `from`), released on `to`.
      await display.xdotool('mousedown', '1', 'mousemove', '--sync', String(to.screen.x), String(to.screen.y), 'mouseup', '1');
      const [press, release] = await newEvents(level, before, 2);
      expect(near(press, from.expected), `drag pressed at ${press?.x},${press?.y}, aimed ${from.expected.x},${from.expected.y}`).toBe(true);
      expect(near(release, to.expected), `drag released at ${release?.x},${release?.y}, aimed ${to.expected.x},${to.expected.y}`).toBe(true);
    }
    await page.screenshot({ path: test.info().outputPath('xdotool-split.png') });
  } finally {
    await closeShell(shell);
  }
});
