/**
 * Issue #26, a user's day on small and odd screens: the band fits at 1024×768, 1280×720, 1366×768
 * and 1920×1080, in French and in English, with its controls (the level, Applications, the level
 * switcher, the trust phrase at its longest, another viewer's warning, the keyboard layout, the USB
 * tray, the menu): every control inside the window and the band, none over another, each reached
 * by a real click; the level in front's name is never what gives way.
 *
 * And the menus the band opens (Applications, the USB tray; the trusted menu): the attack first.
 * Two hostile cages paint their whole screen in the menus' own light grey (#f7f7f7), as a cage
 * would draw a look-alike row under the real drop-down. Before: in split view the tray's drop-down
 * opened over the high frame, the cage's grey right against its edge — the menu seemed to go on
 * into the cage. Now the shell's scrim covers every frame while a menu is open: no pixel beside
 * the menu is anywhere near as bright as the menu, no key typed reaches a cage, and a press on the
 * scrim closes the menu and reaches no cage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startHostileVncServer, type HostileVncServer } from './tools/hostileVncServer';
import { Screenshot } from './support/pixels';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

type Box = { x: number; y: number; width: number; height: number };

const SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots', import.meta.url));
/** The longest trust phrase a user may choose (60 characters, shared/trustPhrase.ts). */
const LONG_PHRASE = 'Le héron gris pêche à l’aube près du vieux moulin de Cloison';
const MENU_GREY: [number, number, number] = [0xf7, 0xf7, 0xf7];
const SIZES = [
  { width: 1024, height: 768 },
  { width: 1280, height: 720 },
  { width: 1366, height: 768 },
  { width: 1920, height: 1080 },
] as const;
const CASES = [
  { lang: 'fr_FR.UTF-8', locale: 'fr', high: 'Haut', labels: null },
  { lang: 'en_GB.UTF-8', locale: 'en', high: 'High', labels: null },
  // A policy's own long names (a label may have 40 characters): the band gives up more words.
  { lang: 'fr_FR.UTF-8', locale: 'fr', high: 'Diffusion Restreinte', labels: { low: '{ fr: Non protégé, en: Unclassified }', high: '{ fr: Diffusion Restreinte, en: Restricted }' } },
] as const;
/** The band's controls, by test id; those a click must act on say how to see it acted. */
const CONTROLS = ['band-level-name', 'open-apps', 'switch-low', 'switch-high', 'band-trust', 'band-foreign-viewer', 'band-keyboard-layout', 'device-tray', 'open-overview'] as const;

const within = (inner: Box, outer: Box) => inner.x >= outer.x - 0.5 && inner.y >= outer.y - 0.5 && inner.x + inner.width <= outer.x + outer.width + 0.5 && inner.y + inner.height <= outer.y + outer.height + 0.5;
const intersects = (a: Box, b: Box) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

async function boxOf(page: Page, testId: string): Promise<Box> {
  const box = await page.getByTestId(testId).boundingBox();
  if (!box) throw new Error(`${testId} has no box`);
  return box;
}

/**
 * Key events and button presses viewers sent a cage since its `from`th chunk (RFB 3.8; a chunk
 * starts on a message; a new connection from its handshake on).
 */
function clientMessages(received: Buffer[], from: number): { keys: number; presses: number } {
  const b = Buffer.concat(received.slice(from));
  let o = 0;
  let keys = 0;
  let presses = 0;
  while (o < b.length) {
    if (b.toString('latin1', o, o + 4) === 'RFB ') {
      o += 12 + 1 + 1; // a new connection: ProtocolVersion, the security type chosen, ClientInit
      continue;
    }
    const type = b[o]!;
    let size: number;
    if (type === 0) size = 20;
    else if (type === 2) size = o + 4 <= b.length ? 4 + 4 * b.readUInt16BE(o + 2) : Infinity;
    else if (type === 3) size = 10;
    else if (type === 4) size = 8;
    else if (type === 5) size = 6;
    else if (type === 6) size = o + 8 <= b.length ? 8 + b.readUInt32BE(o + 4) : Infinity;
    else if (type === 150) size = 10;
    else if (type === 248) size = o + 9 <= b.length ? 9 + b[o + 8]! : Infinity;
    else if (type === 255) size = 12;
    else throw new Error(`unknown client message ${type} at ${o}: ${b.subarray(Math.max(0, o - 16), o + 16).toString('hex')}`);
    if (o + size > b.length) break;
    if (type === 4 || type === 255) keys++;
    if (type === 5 && b[o + 1] !== 0) presses++;
    o += size;
  }
  return { keys, presses };
}

/**
 * Every band control shown: inside the window and the band, over no other, the topmost thing at
 * its centre; the level in front's name whole (not cut, not shrunk).
 */
async function expectBandFits(page: Page, what: string): Promise<string[]> {
  const viewport = page.viewportSize()!;
  const screen = { x: 0, y: 0, width: viewport.width, height: viewport.height };
  const band = await boxOf(page, 'level-band');
  const shown: { id: string; box: Box }[] = [];
  for (const id of CONTROLS) {
    const control = page.getByTestId(id);
    await expect(control, `${what}: ${id} is shown`).toBeVisible();
    shown.push({ id, box: await boxOf(page, id) });
  }
  for (const { id, box } of shown) {
    expect(within(box, screen), `${what}: ${id} ${JSON.stringify(box)} inside the window`).toBe(true);
    expect(within(box, band), `${what}: ${id} ${JSON.stringify(box)} inside the band ${JSON.stringify(band)}`).toBe(true);
    expect(box.width, `${what}: ${id} has a width`).toBeGreaterThan(8);
  }
  for (let i = 0; i < shown.length; i++)
    for (let j = i + 1; j < shown.length; j++) expect(intersects(shown[i]!.box, shown[j]!.box), `${what}: ${shown[i]!.id} ${JSON.stringify(shown[i]!.box)} over ${shown[j]!.id} ${JSON.stringify(shown[j]!.box)}`).toBe(false);
  // Nothing covers them: at each one's centre the topmost element is that control (or inside it).
  const covered = await page.evaluate(
    (ids) =>
      ids.filter((id) => {
        const el = document.querySelector(`[data-testid="${id}"]`)!;
        const r = el.getBoundingClientRect();
        const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return !top || !(el === top || el.contains(top));
      }),
    shown.map((s) => s.id),
  );
  expect(covered, `${what}: controls covered at their centre`).toEqual([]);
  // Nothing in the band is cut: its content is no wider than it, and the level's name is whole.
  const cut = await page.getByTestId('level-band').evaluate((el) => ({ band: el.scrollWidth - el.clientWidth, name: (el.querySelector('.band__name') as HTMLElement).scrollWidth - (el.querySelector('.band__name') as HTMLElement).clientWidth }));
  expect(cut, `${what}: nothing cut`).toEqual({ band: 0, name: 0 });
  const nameSize = await page.locator('.band__name').evaluate((el) => getComputedStyle(el).fontSize);
  expect(nameSize, `${what}: the level's name at its size`).toBe('24px');
  return shown.map((s) => s.id);
}

/** Each control a click acts on, clicked for real (the mouse at its centre), and seen to act. */
async function clickEach(page: Page, what: string): Promise<void> {
  await page.getByTestId('open-apps').click();
  await expect(page.getByTestId('apps-menu'), `${what}: Applications opens`).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('apps-menu')).toHaveCount(0);
  await page.getByTestId('device-tray').click();
  await expect(page.getByTestId('device-tray-panel'), `${what}: the tray opens`).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('device-tray-panel')).toHaveCount(0);
  await page.getByTestId('switch-high').click();
  await expect(page.getByTestId('level-band'), `${what}: the switcher switches`).toHaveAttribute('data-level', 'high');
  await page.getByTestId('switch-low').click();
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  await page.getByTestId('open-overview').click();
  await expect(page.getByTestId('trusted-overview'), `${what}: the menu opens`).toBeVisible();
  await page.getByTestId('overview-close').click();
  await expect(page.getByTestId('trusted-overview')).toHaveCount(0);
}

/**
 * Around the open menu (a ring 3 to 24 px outside its box), over a cage's picture (a viewer's
 * iframe: what lies there is the cage's to draw), the lightest grey pixel (its darkest channel), and how many pixels there
 * are the menu's grey; and the menu's own surface near its bottom.
 */
async function besideTheMenu(page: Page, selector: string, name: string): Promise<{ lightest: number; menuGrey: number; looked: number; menuSurface: string }> {
  const shot = new Screenshot(await page.screenshot({ path: test.info().outputPath(`${name}.png`) }));
  const menu = (await page.locator(selector).boundingBox())!;
  const pictures: Box[] = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-testid^="viewer-"] iframe')]
      .filter((el) => el.checkVisibility({ visibilityProperty: true }))
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      }),
  );
  let lightest = 0; // light and grey as the menu is (the shell's own labels on its dimming are in colour)
  let menuGrey = 0;
  let looked = 0;
  const outside = (x: number, y: number) => x < menu.x - 2 || x > menu.x + menu.width + 2 || y < menu.y - 2 || y > menu.y + menu.height + 2;
  const onPicture = (x: number, y: number) => pictures.some((p) => x >= p.x && x < p.x + p.width && y >= p.y && y < p.y + p.height);
  for (let y = Math.max(0, Math.floor(menu.y - 24)); y < Math.min(shot.height, menu.y + menu.height + 24); y++)
    for (let x = Math.max(0, Math.floor(menu.x - 24)); x < Math.min(shot.width, menu.x + menu.width + 24); x++) {
      if (!outside(x, y) || !onPicture(x, y)) continue;
      looked++;
      const [r, g, b] = shot.at(x, y);
      lightest = Math.max(lightest, Math.min(r, g, b));
      if (Math.abs(r - MENU_GREY[0]) < 12 && Math.abs(g - MENU_GREY[1]) < 12 && Math.abs(b - MENU_GREY[2]) < 12) menuGrey++;
    }
  const inside = shot.at(Math.round(menu.x + menu.width / 2), Math.round(menu.y + menu.height - 6));
  return { lightest, menuGrey, looked, menuSurface: `#${inside.map((v) => v.toString(16).padStart(2, '0')).join('')}` };
}

for (const c of CASES) {
  test.describe(`the band on small screens (${c.locale}${c.labels ? ', long names' : ''})`, () => {
    let dir: string;
    let hostile: Record<'low' | 'high', HostileVncServer>;
    let sup: SupervisorProcess;

    test.beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cloison-bandfit12-'));
      // Each cage paints its whole screen in the menus' grey: a look-alike wherever the menu opens
      // (its screen the size of a frame in split view at 1024×768: its picture fills the frame).
      const start = (level: string) => startHostileVncServer({ socketPath: join(dir, `${level}.sock`), mode: 'fake-band', width: 488, height: 670, fakeBandHeight: 670, desktopName: 'USB', fakeBandColour: MENU_GREY });
      hostile = { low: await start('low'), high: await start('high') };
      let policy = twoLevelPolicy({ low: vncCage(join(dir, 'low.sock')), high: vncCage(join(dir, 'high.sock')) }, 'keyboard: { layout: fr }\n');
      if (c.labels) policy = policy.replace('label: { fr: Bas, en: Low }', `label: ${c.labels.low}`).replace('label: { fr: Haut, en: High }', `label: ${c.labels.high}`);
      sup = await startSupervisor(policy, { env: { LANG: c.lang }, trustPhrase: LONG_PHRASE });
    });
    test.afterAll(async () => {
      await sup?.stop();
      await hostile?.low.close();
      await hostile?.high.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function open(page: Page): Promise<void> {
      await page.goto(await sup.launchUrl());
      await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
      await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
    }

    test('every band control fits, is reachable and clickable, in single and split view', async ({ page, browser }) => {
      test.setTimeout(150_000);
      await open(page);
      // Another viewer on the cages (a second shell): the band's warning, among its longest parts.
      const other = await browser.newPage();
      await other.goto(await sup.launchUrl());
      await expect(page.getByTestId('band-foreign-viewer')).toBeVisible({ timeout: 20_000 });
      await expect(page.getByTestId('band-trust')).toContainText(LONG_PHRASE.slice(0, 10));
      const steps: string[] = [];
      for (const layout of ['single', 'split'] as const) {
        if (layout === 'split') {
          await page.getByTestId('open-overview').click();
          await page.getByTestId('overview-layout').click();
          await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
        }
        for (const size of SIZES) {
          await page.setViewportSize(size);
          const what = `${c.locale} ${size.width}×${size.height} ${layout}`;
          await expectBandFits(page, what);
          await clickEach(page, what);
          await expectBandFits(page, `${what}, after the clicks`);
          steps.push(`${what}: step ${await page.getByTestId('level-band').getAttribute('data-fit')}`);
          if (layout === 'split' && (size.width === 1024 || size.width === 1920)) await page.screenshot({ path: join(SCREENSHOTS, `band-${c.locale}${c.labels ? '-long' : ''}-${size.width}x${size.height}.png`) });
        }
      }
      // With high in front too (its name, its colour), at the smallest.
      await page.setViewportSize(SIZES[0]);
      await page.getByTestId('switch-high').click();
      await expect(page.getByTestId('band-level-name')).toContainText(c.high);
      await expectBandFits(page, `${c.locale} 1024×768 high in front`);
      if (c.labels) await page.screenshot({ path: join(SCREENSHOTS, 'band-fr-long-high-1024x768.png') });
      test.info().annotations.push({ type: 'fit steps', description: steps.join('; ') });
      console.log(`fit steps: ${steps.join('; ')}`);
      await other.close();
    });

    test('a menu the band opens is never beside a cage pixel, and no key or press reaches a cage while it is open', async ({ page }) => {
      test.setTimeout(120_000);
      await page.setViewportSize(SIZES[0]);
      await open(page);
      await page.getByTestId('open-overview').click();
      await page.getByTestId('overview-layout').click();
      await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
      await page.waitForTimeout(800); // the cages' grey painted in both frames
      for (const [button, menu, surface] of [['device-tray', 'device-tray-panel', '#f7f7f7'], ['open-apps', 'apps-menu', '#fafafa']] as const) {
        const before = { low: hostile.low.received.length, high: hostile.high.received.length };
        const none = { low: { keys: 0, presses: 0 }, high: { keys: 0, presses: 0 } };
        await page.getByTestId(button).click();
        await expect(page.getByTestId(menu)).toBeVisible();
        const seen = await besideTheMenu(page, `[data-testid=${menu}]`, `${c.locale}-${menu}-open`);
        // The menu's own surface is (within a shade) the grey the cages paint: beside it, no cage pixel may be.
        expect(seen.menuSurface, `${menu}'s surface`).toBe(surface);
        expect(seen.looked, `${menu}: cage pixels beside it were looked at`).toBeGreaterThan(1000);
        expect(seen.menuGrey, `${menu}: pixels beside it in the menu's grey (a cage's look-alike)`).toBe(0);
        expect(seen.lightest, `${menu}: the lightest grey beside it`).toBeLessThan(80);
        // Keys typed while it is open reach no cage.
        await page.keyboard.type('abc');
        await page.waitForTimeout(500);
        expect({ low: clientMessages(hostile.low.received, before.low), high: clientMessages(hostile.high.received, before.high) }, `${menu}: keys that reached a cage`).toEqual(none);
        // A press beside it (over high's frame) closes it and reaches no cage.
        const frame = await boxOf(page, 'cage-frame-high');
        await page.mouse.click(frame.x + frame.width / 2, frame.y + frame.height - 40);
        await expect(page.getByTestId(menu)).toHaveCount(0);
        await page.waitForTimeout(500);
        expect({ low: clientMessages(hostile.low.received, before.low), high: clientMessages(hostile.high.received, before.high) }, `${menu}: keys and presses that reached a cage`).toEqual(none);
      }
      // The check above sees keys and presses when they do go to a cage: low in front, a click in its frame, keys.
      // (Low in front first — a click in a frame behind only brings it to the front — and the viewer
      // is told its input is back by a message to its frame: a moment before the click and the keys.)
      await page.getByTestId('switch-low').click();
      await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
      await page.waitForTimeout(1000);
      const mark = hostile.low.received.length;
      const low = await boxOf(page, 'cage-frame-low');
      await page.mouse.click(low.x + low.width / 2, low.y + low.height / 2);
      await page.waitForTimeout(300);
      await page.keyboard.type('abc');
      await expect.poll(() => { const got = clientMessages(hostile.low.received, mark); return got.keys >= 6 && got.presses >= 1 ? 'both' : JSON.stringify(got); }, { message: 'keys and presses reach low with no menu open' }).toBe('both');
      // The trusted menu: its frames dimmed by the shell, labelled; nothing beside its panel as bright as it.
      await page.getByTestId('open-overview').click();
      await expect(page.getByTestId('trusted-overview')).toBeVisible();
      await page.waitForTimeout(300);
      const overview = await besideTheMenu(page, '[data-testid=trusted-overview] .overview__panel', `${c.locale}-overview-open`);
      expect(overview.looked, 'the trusted menu: cage pixels beside it were looked at').toBeGreaterThan(1000);
      expect(overview.menuGrey, 'the trusted menu: pixels beside it in its grey').toBe(0);
      expect(overview.lightest, 'the trusted menu: the lightest grey beside it').toBeLessThan(80);
      await page.getByTestId('overview-close').click();
      // The 1024×768 split view with the tray open, for a person to look at.
      await page.getByTestId('device-tray').click();
      await page.screenshot({ path: join(SCREENSHOTS, `band-menu-${c.locale}${c.labels ? '-long' : ''}-1024x768.png`) });
      await page.setViewportSize(SIZES[3]);
      await page.screenshot({ path: join(SCREENSHOTS, `band-menu-${c.locale}${c.labels ? '-long' : ''}-1920x1080.png`) });
    });
  });
}
