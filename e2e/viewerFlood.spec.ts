/**
 * A cage flooding its viewer with full-screen Raw updates as fast as it can (issue #27, item 5),
 * as a user meets it: behind, it is not read at all (its server cannot write past what the pipe
 * holds); brought to front, the switch completes, the band says so and the flood is read again at
 * once; switched away, the real cage takes keys again; in split
 * view the real cage in front draws what is typed while the flood beside it still changes, slowly.
 * How fast the switch is under the flood is measured in bench/levelSwitch.bench.ts, not here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startFloodingVncServer, type FloodingVncServer } from '../supervisor/testing/floodingVncServer';
import { bwrapCage, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { KEY_LOGGER_APP, typeUntilLogged } from './support/cageProbes';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const WIDTH = 1024;
const HEIGHT = 640;
/** The flood's shades of grey (floodingVncServer.ts), as the screen shows them. */
const FLOOD_SHADES = new Set(['#202020', '#606060', '#a0a0a0', '#e0e0e0']);

let flood: FloodingVncServer;
let sup: SupervisorProcess;
let socketDir: string;

test.beforeAll(async () => {
  socketDir = mkdtempSync(join(tmpdir(), 'cloison-flood-'));
  flood = await startFloodingVncServer(join(socketDir, 'vnc.sock'), WIDTH, HEIGHT);
  sup = await startSupervisor(twoLevelPolicy({ low: bwrapCage({ geometry: '1024x640', apps: `[[xterm, -geometry, 120x40+0+0], ${KEY_LOGGER_APP}]` }), high: vncCage(join(socketDir, 'vnc.sock')) }));
});

test.afterAll(async () => {
  await sup?.stop();
  await flood?.close();
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
});

/**
 * The viewer's screen as drawn in its frame (noVNC's canvas): a screenshot of the whole page waits
 * for the browser's compositor, which a flood keeps busy for seconds on a loaded machine.
 */
async function screenOf(page: Page, level: string): Promise<{ centre: string; digest: string }> {
  return page
    .frameLocator(`[data-testid=viewer-frame-${level}]`)
    .locator('#screen canvas')
    .first()
    .evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      const at = 4 * (Math.floor(canvas.height / 2) * canvas.width + Math.floor(canvas.width / 2));
      const centre = '#' + [data[at]!, data[at + 1]!, data[at + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('');
      let digest = 0;
      for (let i = 0; i < data.length; i += 4) digest = (digest * 31 + data[i]! + data[i + 1]! * 7 + data[i + 2]! * 13) >>> 0;
      return { centre, digest: digest.toString(16) };
    });
}

/** Waits until the flooding viewer has shown `count` different shades of the flood: it is being repainted. */
async function floodShadesSeen(page: Page, count: number, what: string): Promise<void> {
  const seen = new Set<string>();
  await expect
    .poll(
      async () => {
        const colour = (await screenOf(page, 'high')).centre;
        if (FLOOD_SHADES.has(colour)) seen.add(colour);
        return seen.size;
      },
      { message: `the flooding cage's screen changes (${what})`, timeout: 30_000 },
    )
    .toBeGreaterThanOrEqual(count);
}

/** What the flood's server could write over `ms`: what its viewer's side read. */
async function sentOver(ms: number): Promise<number> {
  const before = flood.sent();
  await new Promise((r) => setTimeout(r, ms));
  return flood.sent() - before;
}

test('a flooding cage is not read behind, repaints at once in front, and never stops the switch or the other cage', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');

  // Behind: once the pipe is full, the flood cannot write a single update more (the gateway's
  // budget for a cage behind let 2 MiB a second through, read and decoded for nothing).
  await expect
    .poll(() => sentOver(3000), { message: 'bytes the flood wrote in three seconds behind, once the pipe is full', timeout: 30_000 })
    .toBe(0);

  // To front with the shortcut: the switch completes and the flood is read again at once. (What
  // its frame draws is read in split view below: in front, decoding at its full budget on a
  // loaded machine, the frame answers the test harness too late to poll it.)
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
  await expect(page.getByTestId('cage-frame-high')).toBeVisible();
  // What waited in the pipe is read first, then the flood can write again.
  expect(await sentOver(2000), 'bytes the flood wrote in its first two seconds in front').toBeGreaterThan(0);

  // Away again: the switch completes and the real cage takes keys.
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  await expect(page.getByTestId('cage-frame-high')).toBeHidden();
  await typeUntilLogged(page, 'low', sup.homeOf('low'));

  // Split view, the real cage in front: what is typed in it is drawn, and the flood beside it
  // still changes (its smaller budget), both at once.
  await page.getByTestId('open-overview').click();
  await page.getByTestId('overview-layout').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  await page.getByTestId('viewer-low').click({ position: { x: 100, y: 100 } });
  const lowBefore = (await screenOf(page, 'low')).digest;
  await expect
    .poll(
      async () => {
        await page.keyboard.type('cloison ');
        return (await screenOf(page, 'low')).digest !== lowBefore;
      },
      { message: 'the real cage draws what is typed beside the flood', timeout: 30_000 },
    )
    .toBe(true);
  await floodShadesSeen(page, 2, 'beside, in split view');
  await page.screenshot({ path: test.info().outputPath('flood-beside.png'), timeout: 60_000 });
});
