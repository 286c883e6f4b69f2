/**
 * Each cage's viewer runs in a frame of its own origin — its own renderer process under site
 * isolation — that holds no authority: it cannot open the RPC, the trusted page never loads the
 * code that decodes cage bytes, and the frame never has the keyboard, which stays with the trusted
 * page (where the secure-attention key is caught) while keys still reach the cage in front.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { LOW_COLOUR } from '../supervisor/testing/testPolicy';
import config from './playwright.config';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses, typeUntilLogged } from './support/cageProbes';
import { Screenshot } from './support/pixels';
import { connectRawPage } from './support/rawPage';
import { openShell, startSupervisor, TEST_TRUST_PHRASE, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy({ extraApps: [KEY_LOGGER_APP] }));
});
test.afterAll(async () => {
  await sup?.stop();
});

test('one origin and one process per cage viewer; no RPC, no focus, no decoder in the trusted page', async ({ page }) => {
  await openShell(page, sup);
  const shellOrigin = new URL(page.url()).origin;
  const viewerUrl = async (level: string) => new URL((await page.getByTestId(`viewer-frame-${level}`).getAttribute('src'))!);
  const [low, high] = [await viewerUrl('low'), await viewerUrl('high')];
  expect(new Set([shellOrigin, low.origin, high.origin]).size).toBe(3);
  // Different hosts, so different sites: Chromium puts each in a process of its own (an OOPIF).
  const cdp = await page.context().newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ type: string; url: string }> };
  const outOfProcess = targetInfos.filter((t) => t.type === 'iframe').map((t) => new URL(t.url).origin);
  expect(outOfProcess).toEqual(expect.arrayContaining([low.origin, high.origin]));

  // Each server serves its own page only: a viewer's never the shell, the shell's never a viewer.
  expect((await page.request.get(`${low.origin}/`)).status()).toBe(404);
  expect((await page.request.get(`${low.origin}/index.html`)).status()).toBe(404);
  expect((await page.request.get(`${low.origin}/viewer.html`)).status()).toBe(200);
  expect((await page.request.get(`${shellOrigin}/viewer.html`)).status()).toBe(404);

  // The viewer can reach the gateway only: the RPC refuses its origin.
  const viewer = page.frames().find((f) => f.url().startsWith(low.origin))!;
  const rpcFromViewer = await viewer.evaluate(
    (wsUrl) =>
      new Promise<string>((resolve) => {
        try {
          const ws = new WebSocket(wsUrl, ['cloison.v1']);
          ws.onopen = () => resolve('opened');
          ws.onerror = () => resolve('refused');
        } catch (e) {
          resolve(`blocked: ${(e as Error).name}`);
        }
      }),
    `${shellOrigin.replace('http', 'ws')}/rpc`,
  );
  expect(rpcFromViewer).not.toBe('opened');

  // The trusted page's own scripts hold no VNC decoder: noVNC is in the viewer's bundle only.
  const shellScripts = await page.evaluate(() => [...document.scripts].map((s) => s.src).filter(Boolean));
  for (const src of shellScripts) expect(await (await page.request.get(src)).text()).not.toMatch(/TightDecoder|ZRLEDecoder|_rfbInitState/);

  // Typing: the keys reach the cage in front, the frame never gets the focus, the page keeps it.
  await typeUntilLogged(page, 'low', sup.homeOf('low'));
  expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.cageInput ?? document.activeElement?.tagName)).toBe('low');
  expect(await viewer.evaluate(() => document.hasFocus())).toBe(false);
  await page.keyboard.press('Pause');
  await expect(page.getByTestId('trusted-overview')).toBeVisible();
  await page.keyboard.press('Escape');
  expect(rawKeyPresses(sup.homeOf('low'))).not.toContain(KEYCODE.pause);
});

test('a viewer whose renderer hangs or crashes never takes the trusted page with it: its frame says so and reconnects', async () => {
  test.setTimeout(180_000);
  // A browser of this test's own, with a DevTools port: after a viewer's renderer crashes,
  // Playwright refuses every call on the page (it takes any frame's crash for the page's), so the
  // page is read through a DevTools connection of its own (rawPage.ts).
  const userDataDir = mkdtempSync(join(tmpdir(), 'cloison-viewer-crash-'));
  const launch = config.use!.launchOptions!;
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: launch.executablePath, args: [...(launch.args ?? []), '--remote-debugging-port=0'], viewport: { width: 1280, height: 800 }, locale: 'fr-FR' });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await openShell(page, sup);
    const shell = await connectRawPage(userDataDir, new URL(page.url()).origin);
    const viewerState = (level: string) => shell.evaluate<string | null>(`document.querySelector('[data-testid=cage-frame-${level}]')?.dataset.viewer ?? null`);
    const generation = (level: string) => shell.evaluate<string | null>(`document.querySelector('[data-testid=viewer-frame-${level}]')?.dataset.generation ?? null`);
    const trustedPageIntact = async (name: string) => {
      // The band in its colour and the trust phrase: painted by the trusted page's own renderer.
      const png = await shell.screenshot();
      writeFileSync(test.info().outputPath(`${name}.png`), png);
      const shot = new Screenshot(png);
      expect(shot.coloursIn(0, 0, shot.width, 4), `${name}: band`).toEqual(new Set([LOW_COLOUR]));
      expect(await shell.evaluate<string>(`document.querySelector('[data-testid=band-trust]')?.innerText ?? ''`)).toContain(TEST_TRUST_PHRASE);
    };
    const viewerOriginOf: Record<string, string> = {};
    for (const level of ['low', 'high']) viewerOriginOf[level] = new URL((await page.getByTestId(`viewer-frame-${level}`).getAttribute('src'))!).origin;
    const viewerFrame = (level: string) => page.frames().find((f) => f.url().startsWith(viewerOriginOf[level]!))!;

    // Hang: the cage's bytes send the viewer beside into an endless loop. The trusted page goes on
    // answering at once; the frame is found silent, says so, and is loaded again.
    const before = await generation('high');
    void viewerFrame('high').evaluate('setTimeout(() => { for (;;) {} }, 0)').catch(() => undefined);
    const started = Date.now();
    expect(await shell.evaluate<number>('new Promise((r) => requestAnimationFrame(() => r(1)))')).toBe(1);
    expect(Date.now() - started, 'the trusted page draws a frame while a viewer hangs').toBeLessThan(2000);
    await expect.poll(() => generation('high'), { message: 'the silent viewer frame is loaded again', timeout: 30_000 }).not.toBe(before);
    await expect.poll(() => viewerState('high'), { message: 'the hung viewer reconnects', timeout: 60_000 }).toBe('connected');

    // Crash: the renderer of the viewer in front dies (what a decoder bug reached by a cage would
    // do). Last: from here on Playwright refuses every call on the page, frames included.
    // The frame says "stopped" from the moment it is found silent until it is connected again,
    // which may take less than a poll's interval: what it said is recorded as it happens.
    const crashedGeneration = await generation('low');
    await shell.evaluate(`(() => {
      const seen = (window.__viewerSeen = { stopped: false, message: false });
      const look = () => {
        if (document.querySelector('[data-testid=cage-frame-low]')?.dataset.viewer === 'stopped') seen.stopped = true;
        if ((document.querySelector('[data-testid=overlay-low]')?.innerText ?? '').includes('L’affichage de cette cage s’est arrêté')) seen.message = true;
      };
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      return true;
    })()`);
    const crashing = await context.newCDPSession(viewerFrame('low'));
    void crashing.send('Page.crash').catch(() => undefined);
    await expect.poll(() => shell.evaluate<boolean>('window.__viewerSeen.stopped'), { message: 'the crashed viewer is seen stopped', timeout: 30_000 }).toBe(true);
    expect(await shell.evaluate<boolean>('window.__viewerSeen.message'), 'its frame says so').toBe(true);
    await trustedPageIntact('after-viewer-crash');
    await expect.poll(() => generation('low'), { message: 'the crashed viewer frame is loaded again', timeout: 30_000 }).not.toBe(crashedGeneration);
    await expect.poll(() => viewerState('low'), { message: 'the crashed viewer reconnects', timeout: 60_000 }).toBe('connected');
    await trustedPageIntact('after-viewer-reconnect');
    shell.close();
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
