/**
 * Attacks on the viewer frames the shell page makes as it starts, before it knows which level is
 * whose (earlyViewerFrames.ts, firstTickets.ts; issue #26): real Chromium as npm start runs it, the
 * real supervisor and gateway, two quiet fake cages (hostileVncServer.ts, fake-band) each painting
 * its own colour, so what a frame shows says which cage it is connected to.
 *
 * - The page's HEAD (the CSP read the pool's origins come from) answering something else — other
 *   origins, in another order, one more, or nothing: no level claims a frame of an origin the
 *   supervisor did not give it (each shows its own cage); a frame no level claims is removed.
 * - A level's ticket (its first, asked with the description) used from the other level's viewer
 *   origin: refused by the gateway, which binds a ticket's level to that level's viewer origin
 *   (browserHost.ts) — the shell page's bookkeeping (claim by origin, ticket by level) is then not
 *   the only thing keeping one level's cage out of the other level's renderer.
 * - A first ticket used twice: the second refused.
 * - The shell page reloaded (its resume token): new frames, made early again, each its level's.
 * - A page that starts locked: its early frames are removed unclaimed, no cage connected to.
 * Each can fail: a claim that takes the pool's first frame, or a dropUnclaimed that removes
 * nothing (deliberately broken builds, earlyframe-11), and the gateway before the fix.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Frame, type Page } from '@playwright/test';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { Screenshot } from './support/pixels';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

const LEVELS = ['low', 'high'] as const;
type Level = (typeof LEVELS)[number];
const COLOUR: Record<Level, [number, number, number]> = { low: [0x10, 0x80, 0x10], high: [0x80, 0x10, 0x10] };
const HEX: Record<Level, string> = { low: '#108010', high: '#801010' };
/** An origin none of the part's: a loopback address no level's viewer has (127.0.0.10 + index). */
const FOREIGN_HOST = '127.0.0.57';

let servers: HostileVncServer[] = [];
let sup: SupervisorProcess;
let socketDir: string;
/** A server of another origin, and what it was asked. */
let foreign: { server: Server; origin: string; requests: string[] };

test.beforeAll(async () => {
  socketDir = mkdtempSync(join(tmpdir(), 'cloison-earlyframe11-'));
  servers = await Promise.all(LEVELS.map((level) => startHostileVncServer({ socketPath: join(socketDir, `${level}.sock`), mode: 'fake-band', desktopName: level, fakeBandColour: COLOUR[level], fakeBandHeight: 600 })));
  sup = await startSupervisor(twoLevelPolicy({ low: vncCage(join(socketDir, 'low.sock')), high: vncCage(join(socketDir, 'high.sock')) }));
  // Its page says `ready` as a viewer does: were it ever loaded, the pool would count it ready.
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<!doctype html><script>parent.postMessage({ type: 'ready' }, '*');</script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, FOREIGN_HOST, resolve));
  foreign = { server, origin: `http://${FOREIGN_HOST}:${(server.address() as AddressInfo).port}`, requests };
});
test.afterAll(async () => {
  await sup?.stop();
  await Promise.all(servers.map((s) => s.close()));
  await new Promise((resolve) => foreign?.server.close(resolve));
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
});

/** The viewer origins the supervisor gave each level, read from the page's RPC (session.describe). */
function describedOrigins(page: Page): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    page.on('websocket', (ws) =>
      ws.on('framereceived', ({ payload }) => {
        try {
          const origins = (JSON.parse(String(payload)) as { result?: { viewerOrigins?: Record<string, string> } }).result?.viewerOrigins;
          if (origins) resolve(origins);
        } catch {
          // not JSON: not ours to read
        }
      }),
    );
  });
}

/**
 * Every frame ever placed in a level's viewer box, made there or moved in from the pool, as
 * `level origin`: a frame of another origin found dead and replaced later still counts.
 */
async function recordFramesPlaced(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const placed: string[] = [];
    (window as unknown as { framesPlaced: string[] }).framesPlaced = placed;
    const frame = (el: HTMLIFrameElement) => {
      const box = el.parentElement;
      if (box?.dataset.testid?.startsWith('viewer-')) placed.push(`${box.dataset.testid.slice('viewer-'.length)} ${new URL(el.src).origin}`);
    };
    // React inserts a viewer's box with its frame in it: the frames in what was added, too.
    const seen = (node: Node) => {
      if (node instanceof HTMLIFrameElement) frame(node);
      else if (node instanceof Element) node.querySelectorAll('iframe').forEach(frame);
    };
    new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach(seen))).observe(document, { subtree: true, childList: true });
  });
}
const framesPlaced = (page: Page) => page.evaluate(() => (window as unknown as { framesPlaced: string[] }).framesPlaced);

/** The page's own address ("/", launch and resume alike), its document or its HEAD. */
const isShellRoot = (shellOrigin: string) => (url: URL) => url.origin === shellOrigin && url.pathname === '/';

/** The colours of a shot's middle (a cage's screen is letterboxed in its frame: its edges are the frame's black). */
const centre = (shot: Screenshot) => shot.coloursIn((shot.width >> 1) - 32, (shot.height >> 1) - 32, (shot.width >> 1) + 32, (shot.height >> 1) + 32);

const withFrameSrc = (csp: string, sources: string) => csp.replace(/frame-src [^;]*/, `frame-src ${sources}`);

async function frameOf(page: Page, level: Level): Promise<Frame> {
  const frame = await (await page.getByTestId(`viewer-frame-${level}`).elementHandle())!.contentFrame();
  return frame!;
}

/** Each level's frame: of the origin the supervisor gave that level, connected, showing its own cage. */
async function eachFrameIsItsLevels(page: Page, described: Record<string, string>, name: string): Promise<void> {
  for (const level of LEVELS) {
    await expect(page.getByTestId(`cage-frame-${level}`)).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    expect(new URL((await frameOf(page, level)).url()).origin, `${name}: ${level}'s frame's document`).toBe(described[level]);
  }
  const placed = await framesPlaced(page);
  expect(placed.length, `${name}: a frame was placed for each level`).toBeGreaterThanOrEqual(2);
  expect(placed, `${name}: every frame ever placed in a level's box is of that level's origin`).toEqual(placed.map((p) => `${p.split(' ')[0]} ${described[p.split(' ')[0]!]}`));
  for (const level of LEVELS) {
    await page.getByTestId(`switch-${level}`).click();
    await expect(page.getByTestId('band-level-name')).toContainText(level === 'low' ? 'Bas' : 'Haut');
    const other = level === 'low' ? 'high' : 'low';
    await expect
      .poll(async () => centre(new Screenshot(await page.getByTestId(`viewer-frame-${level}`).screenshot({ path: test.info().outputPath(`${name}-${level}.png`) }))), {
        message: `${name}: ${level}'s frame shows its own cage`,
        timeout: 30_000,
      })
      .toContain(HEX[level]);
    const shot = new Screenshot(await page.getByTestId(`viewer-frame-${level}`).screenshot());
    expect(shot.coloursIn(0, 0, shot.width, shot.height), `${name}: ${level}'s frame shows nothing of ${other}'s cage`).not.toContain(HEX[other]);
  }
}

test("the HEAD naming other origins, in another order: each level claims its own origin's frame only; a frame no level claims is removed", async ({ page }) => {
  test.setTimeout(180_000);
  const url = await sup.launchUrl();
  const shellOrigin = new URL(url).origin;
  const described = describedOrigins(page);
  await recordFramesPlaced(page);
  // The server's own answer to the HEAD the pool reads, changed: its levels' origins reversed, a
  // foreign one first. (Only the HEAD: a document Playwright fulfils is taken for a public one,
  // whose page Chromium then keeps off loopback — its RPC refused — so the document stays the
  // server's, and the browser keeps a frame of the foreign origin from loading at all.)
  // Answered at once, from the server's own answer read beforehand: a HEAD fetched through the
  // route would come after the description and no frame would be made early.
  const real = await page.request.head(`${shellOrigin}/`);
  const csp = real.headers()['content-security-policy'] ?? '';
  const theirs = /frame-src ([^;]*)/.exec(csp)?.[1]?.trim().split(/\s+/) ?? [];
  expect(theirs).toHaveLength(2);
  await page.route(
    (u) => isShellRoot(shellOrigin)(u),
    (route) =>
      route.request().method() === 'HEAD'
        ? route.fulfill({ status: 200, headers: { ...real.headers(), 'content-security-policy': withFrameSrc(csp, [foreign.origin, ...theirs.reverse()].join(' ')) } })
        : route.continue(),
  );
  await page.goto(url);
  const origins = await described;
  expect(new Set(Object.values(origins)).size).toBe(2);
  await eachFrameIsItsLevels(page, origins, 'reordered');
  // Both were made early and claimed (the HEAD named their origins), the foreign one by no level.
  for (const level of LEVELS) await expect(page.getByTestId(`viewer-frame-${level}`)).toHaveAttribute('data-early', 'true');
  await expect(page.locator('iframe')).toHaveCount(2);
  await expect(page.locator('.early-viewers')).toHaveCount(0);
  expect(page.frames().filter((f) => f.url().startsWith(foreign.origin)), 'the unclaimed frame is gone').toHaveLength(0);
  expect(foreign.requests, 'nothing of the foreign origin was loaded (the page\'s own CSP)').toEqual([]);
});

test("the HEAD failing or naming no viewer: each level's viewer makes its own frame, of its own origin", async ({ page }) => {
  test.setTimeout(180_000);
  await recordFramesPlaced(page);
  for (const variant of ['failing', 'none'] as const) {
    const url = await sup.launchUrl();
    const shellOrigin = new URL(url).origin;
    // A new document each time (the launch address differs from the page's by its fragment only).
    await page.goto('about:blank');
    const described = describedOrigins(page);
    await page.unrouteAll();
    await page.route(
      (u) => isShellRoot(shellOrigin)(u),
      async (route) => {
        if (route.request().method() !== 'HEAD') return route.continue();
        if (variant === 'failing') return route.fulfill({ status: 500 });
        const response = await route.fetch();
        const headers = response.headers();
        headers['content-security-policy'] = withFrameSrc(headers['content-security-policy'] ?? '', "'none'");
        await route.fulfill({ response, headers });
      },
    );
    await page.goto(url);
    await eachFrameIsItsLevels(page, await described, variant);
    for (const level of LEVELS) await expect(page.getByTestId(`viewer-frame-${level}`)).not.toHaveAttribute('data-early', 'true');
  }
});

test("a level's first ticket, held back from its frame, is refused from the other level's viewer origin and used only once", async ({ page }) => {
  test.setTimeout(120_000);
  // In every viewer frame (init scripts run in each frame the page loads): the `open` carrying
  // high's ticket is kept from the viewer, unspent, for the test to use.
  await page.addInitScript(() => {
    if (!location.pathname.endsWith('/viewer.html')) return;
    const w = window as unknown as { heldOpen?: string };
    addEventListener(
      'message',
      (ev: MessageEvent) => {
        const data = ev.data as { type?: string; url?: string } | null;
        if (data?.type !== 'open' || typeof data.url !== 'string' || !data.url.includes('level=high') || w.heldOpen) return;
        w.heldOpen = data.url;
        ev.stopImmediatePropagation();
      },
      true,
    );
  });
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  for (const level of LEVELS) await expect(page.getByTestId(`viewer-frame-${level}`)).toHaveAttribute('data-early', 'true');
  const high = await frameOf(page, 'high');
  const low = await frameOf(page, 'low');
  await expect.poll(() => high.evaluate(() => (window as unknown as { heldOpen?: string }).heldOpen ?? null), { timeout: 30_000 }).not.toBeNull();
  const ticketUrl = (await high.evaluate(() => (window as unknown as { heldOpen?: string }).heldOpen))!;
  // What a WebSocket opened with that URL from a frame gets: the gateway's first bytes, or a refusal.
  const openFrom = (frame: Frame) =>
    frame.evaluate(
      (u) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(u);
          ws.binaryType = 'arraybuffer';
          ws.onmessage = (e) => {
            resolve(`admitted: ${new TextDecoder().decode(new Uint8Array(e.data as ArrayBuffer).subarray(0, 11))}`);
            ws.close();
          };
          ws.onerror = () => resolve('refused');
          setTimeout(() => resolve('no answer'), 10_000);
        }),
      ticketUrl,
    );
  expect(await openFrom(low), "high's ticket from low's viewer origin").toBe('refused');
  // Not spent by that refusal, and good from its own level's origin; once.
  expect(await openFrom(high), "high's ticket from high's viewer origin").toBe('admitted: RFB 003.008');
  expect(await openFrom(high), 'the same ticket again').toBe('refused');
});

test('the shell page reloaded (its resume token): its new frames, made early again, each claimed by its own level', async ({ page }) => {
  test.setTimeout(180_000);
  await recordFramesPlaced(page);
  for (const start of ['launched', 'reloaded'] as const) {
    const described = describedOrigins(page);
    if (start === 'launched') await page.goto(await sup.launchUrl());
    else await page.reload();
    await eachFrameIsItsLevels(page, await described, start);
    for (const level of LEVELS) await expect(page.getByTestId(`viewer-frame-${level}`), `${start}: ${level}'s frame made early (else this proves nothing of the pool)`).toHaveAttribute('data-early', 'true');
    await expect(page.locator('iframe')).toHaveCount(2);
  }
});

// Last: it leaves the session locked (no unlock without a PAM account).
test('a page that starts locked: its early frames, made before it knew, are removed unclaimed, and no cage is connected to', async ({ page, browser }) => {
  test.setTimeout(120_000);
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  await page.keyboard.press('Pause');
  await page.getByTestId('overview-lock').click();
  await expect(page.getByTestId('lock-screen')).toBeVisible();
  await page.close();
  // What the cages were sent until now; a viewer connecting would send its version at once.
  const before = servers.map((s) => s.received.length);
  const locked = await browser.newPage();
  await recordFramesPlaced(locked);
  await locked.goto(await sup.launchUrl());
  await expect(locked.getByTestId('lock-screen')).toBeVisible({ timeout: 60_000 });
  expect(await locked.evaluate(() => performance.getEntriesByName('cloison:early-frames').length), 'the frames were made early (else this proves nothing of the pool)').toBe(1);
  await expect(locked.locator('iframe'), 'no frame left, claimed or not').toHaveCount(0);
  await expect(locked.locator('.early-viewers')).toHaveCount(0);
  expect(await framesPlaced(locked)).toEqual([]);
  await locked.waitForTimeout(3000);
  expect(servers.map((s) => s.received.length), 'no cage was connected to').toEqual(before);
  await locked.close();
});
