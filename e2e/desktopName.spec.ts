/**
 * A cage lies about itself: it announces the other level's name as its desktop name and paints a
 * fake band in the other level's colour. The shell's band keeps the policy's level, and the lie
 * never appears as shell text (trusted path, property 2).
 */
import { join } from 'node:path';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { bwrapCage, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { expect, test } from '@playwright/test';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { waitFor } from '../supervisor/testing/waitFor';
import { Screenshot } from './support/pixels';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const LIE = 'Haut — niveau HIGH';
let hostile: HostileVncServer;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  const socketPath = join(testRoot('cloison-hostile-'), 'vnc.sock');
  hostile = await startHostileVncServer({ socketPath, desktopName: LIE, fakeBandColour: [0xb3, 0x26, 0x1e] });
  sup = await startSupervisor(twoLevelPolicy({ low: vncCage(socketPath), high: bwrapCage({ geometry: '800x600' }) }));
});

test.afterAll(async () => {
  await sup?.stop();
  await hostile?.close();
  removeTestRoots();
});

test('a desktop name announced by a cage never appears in the shell, and its fake band stays inside its frame', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await page.waitForTimeout(600); // let the fake band be painted
  // Painted through the viewer: later than those 600 ms on a loaded machine. The shot below is taken once it shows.
  const fakeBandShown = async () => new Screenshot(await page.screenshot()).coloursIn(640, 100, 642, 102).has('#b3261e');
  await waitFor(fakeBandShown, "the cage's fake band painted in its frame", 15_000, 250).catch(() => undefined);
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  await expect(page.getByTestId('band-level-name')).toHaveText(/Bas/);
  const text = await page.evaluate(() => document.body.innerText + '\n' + document.title);
  expect(text).not.toContain('niveau HIGH');
  expect(text).not.toContain(LIE);

  const shot = new Screenshot(await page.screenshot({ path: test.info().outputPath('hostile-low.png') }));
  // The whole band strip (below the buttons' area) and the frame's left edge hold only the low colour.
  expect(shot.coloursIn(0, 0, shot.width, 4)).toEqual(new Set(['#1b7f3b']));
  expect(shot.coloursIn(0, 48, 6, shot.height)).toEqual(new Set(['#1b7f3b']));
  // The fake red band is drawn, but only inside the frame.
  expect(shot.coloursIn(640, 100, 642, 102)).toEqual(new Set(['#b3261e']));
});
