/**
 * A hostile cage, in front or behind: whatever it sends (a fake band, a lying name, enormous and
 * changing desktop sizes, a huge cursor and a bell storm, garbage, a message cut off mid-way,
 * malformed rectangles, a Tight rectangle far off its screen that would inflate to 48 MiB), the band keeps the configured level in the policy's colour, the trust
 * phrase stays on screen, the other (real) cage keeps working and the shell does not freeze.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bwrapCage, HIGH_COLOUR, LOW_COLOUR, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { expect, test, type Page } from '@playwright/test';
import { startHostileVncServer, type HostileMode, type HostileVncServer } from './tools/hostileVncServer';
import { KEY_LOGGER_APP, typeUntilLogged } from './support/cageProbes';
import { Screenshot } from './support/pixels';
import { startSupervisor, TEST_TRUST_PHRASE, type SupervisorProcess } from './support/supervisorProcess';

const LOW = LOW_COLOUR;
const HIGH = HIGH_COLOUR;
const MODES: HostileMode[] = ['fake-band', 'resize-storm', 'cursor-bell', 'garbage', 'stall', 'malformed', 'oversize-tight'];

for (const mode of MODES) {
  test.describe(`hostile high cage: ${mode}`, () => {
    let hostile: HostileVncServer;
    let sup: SupervisorProcess;
    let socketDir: string;

    test.beforeAll(async () => {
      socketDir = mkdtempSync(join(tmpdir(), 'cloison-hostile-'));
      const socketPath = join(socketDir, 'vnc.sock');
      // It paints the LOW colour, announces the low name: it wants to pass for the low cage.
      hostile = await startHostileVncServer({ socketPath, mode, desktopName: 'Bas — niveau LOW', fakeBandColour: [0x1b, 0x7f, 0x3b] });
      sup = await startSupervisor(twoLevelPolicy({ low: bwrapCage({ geometry: '1024x640', apps: `[[xterm, -geometry, 120x40+0+0], ${KEY_LOGGER_APP}]` }), high: vncCage(socketPath) }));
    });
    test.afterAll(async () => {
      await sup?.stop();
      await hostile?.close();
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    });

    async function trustedAreasAre(page: Page, colour: string, name: string): Promise<void> {
      const shot = new Screenshot(await page.screenshot({ path: test.info().outputPath(`${name}.png`) }));
      expect(shot.coloursIn(0, 0, shot.width, 4), `${name}: band`).toEqual(new Set([colour]));
      expect(shot.coloursIn(0, 48, 6, shot.height), `${name}: left frame edge`).toEqual(new Set([colour]));
      expect(shot.coloursIn(shot.width - 6, 48, shot.width, shot.height), `${name}: right frame edge`).toEqual(new Set([colour]));
      expect(shot.coloursIn(0, shot.height - 6, shot.width, shot.height), `${name}: bottom frame edge`).toEqual(new Set([colour]));
      await expect(page.getByTestId('band-trust')).toContainText(TEST_TRUST_PHRASE);
    }

    test('cannot fake the band, freeze the shell or stop the other cage', async ({ page }) => {
      // No run again on a fresh page: under the resize storm the high viewer's renderer crashed in
      // most runs (Chromium 156, a null dereference settling a promise, every time right after the
      // viewer closed its WebSocketStream from inside its own read, on a refused framebuffer size).
      // The viewer now closes it on a task of its own (pacedChannel.ts); a crash fails this test.
      await cannotFakeFreezeOrStop(page);
    });

    async function cannotFakeFreezeOrStop(page: Page): Promise<void> {
      const said: string[] = []; // the page's and its frames' consoles
      page.on('console', (message) => said.push(message.text()));
      await page.goto(await sup.launchUrl());
      await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');

      // Behind: low in front keeps its band, and works.
      await page.waitForTimeout(800);
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
      await trustedAreasAre(page, LOW, 'hostile-behind');

      // In front: the band says high, in the high colour, whatever the cage paints or claims.
      await page.getByTestId('switch-high').click();
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
      await page.waitForTimeout(1500);
      await expect(page.getByTestId('band-level-name')).toContainText('Haut');
      await trustedAreasAre(page, HIGH, 'hostile-in-front');
      if (mode === 'oversize-tight')
        // Refused before a byte of it is inflated: the viewer ends that connection and says why.
        await expect.poll(() => said.find((line) => line.includes('cage connection ended:')), { timeout: 10_000 }).toBe('cage connection ended: rectangle 4096x4096 at 60000,0 (encoding 7) outside the 800x600 framebuffer');
      const text = await page.evaluate(() => document.body.innerText);
      expect(text).not.toContain('niveau LOW');
      // The cage's box never reaches the band, whatever size it announced.
      const band = (await page.getByTestId('level-band').boundingBox())!;
      const viewer = (await page.getByTestId('viewer-high').boundingBox())!;
      expect(viewer.y).toBeGreaterThanOrEqual(band.y + band.height + 6);
      // No cage-supplied cursor image is ever used: it could float over the band.
      const cursors = await page.frameLocator('[data-testid=viewer-frame-high]').locator('#screen canvas').evaluateAll((els) => els.filter((el) => el.isConnected).map((el) => getComputedStyle(el).cursor));
      for (const c of cursors) expect(c).toBe('none');
      if (mode === 'cursor-bell') {
        // A bell every 10 ms shows at most once a second.
        const bells = await page.evaluate(async () => {
          let count = 0;
          const observer = new MutationObserver((records) => {
            for (const r of records) for (const n of r.addedNodes) if (n instanceof HTMLElement && n.classList.contains('frame__bell')) count++;
          });
          observer.observe(document.body, { childList: true, subtree: true });
          await new Promise((r) => setTimeout(r, 2500));
          observer.disconnect();
          return count;
        });
        expect(bells).toBeGreaterThanOrEqual(1);
        expect(bells).toBeLessThanOrEqual(3);
      }

      // The shell still answers at once, and the real cage still takes keys.
      const started = Date.now();
      await page.keyboard.press('Control+Alt+PageDown');
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'low');
      expect(Date.now() - started).toBeLessThan(5000);
      await typeUntilLogged(page, 'low', sup.homeOf('low'));
      await trustedAreasAre(page, LOW, 'after-hostile');
    }

    if (mode === 'cursor-bell') {
      test('on a touch screen, the cage\'s cursor image never reaches the band either', async ({ browser }) => {
        // noVNC draws cursors on touch devices on a canvas fixed in the page, above everything.
        const context = await browser.newContext({ hasTouch: true, viewport: { width: 1280, height: 800 }, locale: 'fr-FR' });
        const page = await context.newPage();
        await page.goto(await sup.launchUrl());
        await page.getByTestId('switch-high').click();
        await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
        const viewer = (await page.getByTestId('viewer-high').boundingBox())!;
        // The pointer at the viewer's top: a cursor with its hotspot at its bottom is drawn over the band.
        await page.mouse.move(viewer.x + viewer.width / 2, viewer.y + 4);
        await page.touchscreen.tap(viewer.x + viewer.width / 2, viewer.y + 4);
        await page.mouse.move(viewer.x + viewer.width / 2 + 1, viewer.y + 5);
        await page.waitForTimeout(500);
        await trustedAreasAre(page, HIGH, 'hostile-cursor-touch');
        await context.close();
      });
    }
  });
}
