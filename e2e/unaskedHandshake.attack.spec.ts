/**
 * Attack (a cage's VNC server that does not wait for its viewer, handshake-12): the high "cage"
 * writes its whole RFB handshake as the connection opens — version, security None, SecurityResult,
 * ServerInit, then its screen — before the viewer said a word (hostileVncServer.ts, unasked modes).
 * The gateway hands it on as it comes: one message. noVNC 1.7 reads the version out of it, answers,
 * and stops there (its version step says it made no progress): the rest waits for a next message
 * that never comes, and the viewer said "connecting" for ever — no picture, no error, no retry.
 *
 * What must happen, real shell page in Chromium, real supervisor and gateway, two fake cages:
 * - valid RFB, only early (all at once, one byte a write, followed by a flood): the viewer connects
 *   and shows that cage's screen (earlyBytes.ts);
 * - a version no client knows: the frame says the cage's display is unreachable, and retries with
 *   the back-off (viewerRetry.ts: a handful of connections in 30 s, not one a second), saying when;
 * - its version, then nothing (a server that hangs): after the shell's deadline
 *   (viewerConnectDeadline.ts) the frame says plainly that the level's display does not answer as
 *   it should, and its frame is retried with the back-off (viewerRetry.ts);
 * - nothing at all: root's greeting check refuses the level's server (vncServerTrust.ts), the cage
 *   is stopped and its frame says why;
 * and whatever the high cage sends, the low cage's viewer keeps its picture and the shell answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer, type UnaskedMode } from './tools/hostileVncServer';
import { Screenshot } from './support/pixels';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

const COLOUR = { low: [0x10, 0x80, 0x10], high: [0x80, 0x10, 0x10] } as const satisfies Record<string, [number, number, number]>;
const HEX = { low: '#108010', high: '#801010' } as const;
/** Valid RFB, only early: each must connect and paint. */
const EARLY: UnaskedMode[] = ['unasked', 'unasked-bytewise', 'unasked-flood'];

/** The colours of a frame's middle (a cage's screen is letterboxed in its frame). */
const centre = (shot: Screenshot) => shot.coloursIn((shot.width >> 1) - 32, (shot.height >> 1) - 32, (shot.width >> 1) + 32, (shot.height >> 1) + 32);

async function showsItsCage(page: Page, level: 'low' | 'high', name: string): Promise<void> {
  await expect
    .poll(async () => centre(new Screenshot(await page.getByTestId(`viewer-frame-${level}`).screenshot({ path: test.info().outputPath(`${name}-${level}.png`) }))), {
      message: `${name}: ${level}'s frame shows its cage's screen`,
      timeout: 20_000,
    })
    .toContain(HEX[level]);
}

/** The low level, its viewer and the shell: untouched by whatever the high cage sent. */
async function lowLevelAndShellWork(page: Page, name: string): Promise<void> {
  const started = Date.now();
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  expect(Date.now() - started, `${name}: the switch answered`).toBeLessThan(5000);
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await showsItsCage(page, 'low', name);
  await expect(page.getByTestId('band-trust')).toContainText(TEST_TRUST_PHRASE);
}

for (const mode of [...EARLY, 'wrong-version', 'greeting-only', 'silent'] as UnaskedMode[]) {
  test.describe(`a high cage that does not wait for its viewer: ${mode}`, () => {
    let servers: HostileVncServer[] = [];
    let sup: SupervisorProcess;
    let socketDir: string;

    test.beforeAll(async () => {
      socketDir = mkdtempSync(join(tmpdir(), `cloison-handshake12-${mode}-`));
      servers = await Promise.all([
        startHostileVncServer({ socketPath: join(socketDir, 'low.sock'), mode: 'fake-band', desktopName: 'low', fakeBandColour: COLOUR.low, fakeBandHeight: 600 }),
        startHostileVncServer({ socketPath: join(socketDir, 'high.sock'), mode, desktopName: 'high', fakeBandColour: COLOUR.high, fakeBandHeight: 600 }),
      ]);
      sup = await startSupervisor(twoLevelPolicy({ low: vncCage(join(socketDir, 'low.sock')), high: vncCage(join(socketDir, 'high.sock')) }));
    });
    test.afterAll(async () => {
      await sup?.stop();
      await Promise.all(servers.map((s) => s.close()));
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    });

    test('the viewer connects, or the frame says what is wrong and retries; the other level and the shell keep working', async ({ page }) => {
      test.setTimeout(210_000);
      const said: string[] = [];
      page.on('console', (message) => said.push(message.text()));
      await page.goto(await sup.launchUrl());
      await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 30_000 });
      await page.getByTestId('switch-high').click();
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
      const high = page.getByTestId('cage-frame-high');
      if (EARLY.includes(mode)) {
        await expect(high, 'valid RFB, only early: connected').toHaveAttribute('data-viewer', 'connected', { timeout: 15_000 });
        await showsItsCage(page, 'high', mode);
      } else if (mode === 'wrong-version') {
        // noVNC refuses the version: the viewer says unreachable, and tries again — with the back-off
        // of a viewer that stopped (viewerRetry.ts), not every second for ever (handshake-12b).
        await expect.poll(() => said.some((line) => line.includes('Invalid server version')), { timeout: 15_000 }).toBe(true);
        await expect(page.getByTestId('overlay-high')).toContainText('Affichage de la cage injoignable');
        await expect.poll(() => servers[1]!.connections(), { message: 'the viewer tried again' }).toBeGreaterThan(1);
        // Each viewer's attempt is a connection to the server; so is each probe of the level's watch
        // (remoteVncDriver.ts, every 5 s): the low cage, its viewer connected once, counts those.
        const from = servers.map((s) => s.connections());
        const series: number[] = [];
        for (let s = 0; s < 30; s++) {
          await page.waitForTimeout(1000);
          series.push(servers[1]!.connections() - from[1]!);
        }
        const [probes, all] = servers.map((s, i) => s.connections() - from[i]!) as [number, number];
        const attempts = all - probes;
        console.log(`wrong-version: in 30 s, ${all} connections to the high cage (each second: ${series.join(' ')}), ${probes} to the low one (the watch's probes): ${attempts} attempts of its viewer`);
        test.info().annotations.push({ type: "the wrong-version cage's viewer: attempts in 30 s", description: String(attempts) });
        expect(attempts, 'a cage whose display keeps failing: a handful of attempts in 30 s, not one a second').toBeLessThanOrEqual(6);
        await expect(high).toHaveAttribute('data-viewer', 'unreachable-retrying', { timeout: 20_000 });
        await expect(page.getByTestId('overlay-high')).toContainText('nouvel essai dans');
        // Reconnect: at once, its count started again.
        const asked = servers[1]!.connections();
        await page.getByTestId('reconnect-high').click();
        await expect.poll(() => servers[1]!.connections(), { message: 'reconnected at once', timeout: 10_000 }).toBeGreaterThan(asked);
      } else if (mode === 'silent') {
        // Not even a greeting: the level's server is refused before any viewer is handed it.
        await expect(page.getByTestId('overlay-high')).toContainText('no RFB greeting');
      } else {
        // Nothing after the greeting: the shell's deadline ends "connecting", says so, and retries with the back-off.
        await expect(high).toHaveAttribute('data-viewer', 'silent', { timeout: 60_000 });
        await expect(page.getByTestId('overlay-high')).toContainText('ne répond pas comme il le devrait');
        // Retried: a new frame (generation), then after a second silence a wait said so.
        await expect(page.getByTestId('viewer-frame-high')).not.toHaveAttribute('data-generation', '0', { timeout: 15_000 });
        await expect(high).toHaveAttribute('data-viewer', 'silent-retrying', { timeout: 75_000 });
        await expect(page.getByTestId('reconnect-high')).toBeVisible();
        await expect(page.getByTestId('overlay-high')).toContainText('nouvel essai dans');
      }
      await lowLevelAndShellWork(page, mode);
    });
  });
}
