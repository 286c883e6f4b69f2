/**
 * A level on WireGuard, in the shell: with a real peer (wireguard-go) in a site-gateway namespace
 * the test makes, the band of the high level says its tunnel is up and how old its last handshake
 * is — the supervisor's measure — and low's band says nothing of a tunnel it does not have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startSiteGateway, type SiteGateway } from '../supervisor/testing/siteGateway';
import { startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let dir: string;
let site: SiteGateway;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloison-wg-e2e-'));
  site = await startSiteGateway(dir, 200 + (process.pid % 50));
  sup = await startSupervisor(twoCagePolicy({ highNetwork: `{ mode: wireguard, config: ${site.cageConfig} }` }));
});
test.afterAll(async () => {
  await sup?.stop();
  site?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the band shows the level's tunnel as the supervisor measures it", async ({ page }) => {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  await expect(page.getByTestId('band-tunnel')).toHaveCount(0);
  await page.getByTestId('switch-high').click();
  const tunnel = page.getByTestId('band-tunnel');
  await expect(tunnel).toHaveAttribute('data-state', 'up', { timeout: 20_000 });
  await expect(tunnel).toContainText(/tunnel actif · échange il y a \d+ s/);
  await expect(tunnel).toHaveAttribute('title', new RegExp(`${site.underlayAddress}:${site.port}`));
  await page.screenshot({ path: test.info().outputPath('tunnel-band.png') });
});
