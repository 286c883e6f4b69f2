/**
 * What the shell shows of containment: a level whose cage shares the host's network carries a
 * warning in its band; a cage that fills its home gets the supervisor's note in its frame's title
 * strip, and the other level shows neither.
 */
import { expect, test } from '@playwright/test';
import { cageShellForUid } from './support/cageByUid';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';
import { twoLevelPolicy } from '../supervisor/testing/testPolicy';

const LOW_UID = 59941;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  const low = `{ driver: bwrap, network: host, uid: ${LOW_UID}, geometry: 800x600, apps: [xterm], limits: { homeBytes: 24MiB } }`;
  const high = '{ driver: bwrap, network: none, uid: 59942, geometry: 800x600, apps: [xterm] }';
  sup = await startSupervisor(twoLevelPolicy({ low, high }));
});

test.afterAll(async () => {
  await sup?.stop();
});

test("a host-network level is flagged in its band, and a full home in its frame's title", async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('band-host-network')).toHaveText(/réseau de l’hôte/);

  const low = cageShellForUid(LOW_UID);
  const fill = await low('dd if=/dev/zero of=$HOME/fill bs=1M count=64 2>&1; echo done');
  expect(fill.stdout).toContain('No space left on device');
  await expect(page.getByTestId('frame-notice-low')).toContainText('dossier personnel plein (24 Mio)'); // the supervisor's detail, in the shell's French
  await page.screenshot({ path: test.info().outputPath('low-home-full-host-network.png') });

  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('band-level-name')).toContainText('Haut');
  await expect(page.getByTestId('band-host-network')).toHaveCount(0);
  await expect(page.getByTestId('frame-notice-high')).toHaveCount(0);

  await low('rm -f $HOME/fill');
  await page.getByTestId('switch-low').click();
  await expect(page.getByTestId('frame-notice-low')).toHaveCount(0, { timeout: 5000 });
});
