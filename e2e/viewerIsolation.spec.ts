/**
 * Each cage's viewer runs in a frame of its own origin — its own renderer process under site
 * isolation — that holds no authority: it cannot open the RPC, the trusted page never loads the
 * code that decodes cage bytes, and the frame never has the keyboard, which stays with the trusted
 * page (where the secure-attention key is caught) while keys still reach the cage in front.
 */
import { expect, test } from '@playwright/test';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses, typeUntilLogged } from './support/cageProbes';
import { openShell, startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

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
