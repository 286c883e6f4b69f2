/**
 * A cage that is down is shown as such, inside its own frame, with a retry button; once its
 * endpoint answers, retrying brings its display back. The other cage keeps working meanwhile.
 */
import { join } from 'node:path';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { bwrapCage, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { expect, test } from '@playwright/test';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;
let endpoint: HostileVncServer | null = null;
// Made in beforeAll: Playwright's runner also loads this file, and would leave a folder of its own.
let socketPath: string;

test.beforeAll(async () => {
  socketPath = join(testRoot('cloison-late-'), 'vnc.sock');
  sup = await startSupervisor(twoLevelPolicy({ low: bwrapCage({ geometry: '800x600' }), high: vncCage(socketPath) }));
});

test.afterAll(async () => {
  await sup?.stop();
  await endpoint?.close();
  removeTestRoots();
});

test('shows a crashed cage with its reason and a retry that brings it back', async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('status-high')).toHaveText(/arrêtée|démarrage/);
  await page.getByTestId('switch-high').click();
  const overlay = page.getByTestId('overlay-high');
  await expect(overlay).toBeVisible();
  await expect(overlay).toContainText('Cage Haut');
  await expect(overlay).toContainText('La cage s’est arrêtée');
  await expect(overlay).toContainText(`VNC endpoint ${socketPath} unreachable`);
  await page.screenshot({ path: test.info().outputPath('high-crashed.png') });

  endpoint = await startHostileVncServer({ socketPath, desktopName: 'late', fakeBandColour: [0, 0, 0x80] });
  // The user retries — unless the supervisor's own backoff brought the cage back a moment before,
  // and the retry button went with the overlay (the supervisor's restart is tested on its own).
  const retry = page.getByTestId('retry-high');
  await retry.click({ timeout: 5_000 }).catch(() => expect(overlay).toHaveCount(0));
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
  await expect(overlay).toHaveCount(0);
  await expect(page.getByTestId('status-high')).toHaveText('en service');
  // The low cage stayed up all along.
  await expect(page.getByTestId('status-low')).toHaveText('en service');
});
