/**
 * Issue #26: a notice about one level is drawn in that level's own title strip (or in the band),
 * named and coloured as that level, never over the other level's frame, and never over any cage's
 * picture (the viewer's box and its iframe: what lies there is the cage's, which can draw a box like
 * it) — in split view and single view, at 1920×1080 and 1024×768, under LANG=fr_FR.UTF-8 and
 * en_GB.UTF-8, with two real cages whose screens follow their frames (geometry: auto). A notice
 * that comes and goes resizes no cage: its X screen stays the frame's size at rest.
 *
 * The attack first: low's clipboard owner stops answering (its xclip stopped), the user copies out
 * of low and moves to high before the broker gives up (3 s). The refusal comes back while high is
 * in front: before the fix it was drawn under the band on the right, over high's frame (split, and
 * single with high in front); a flood of such copies did the same. Now it lands in low's strip.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { cageScreenSize, pagePointFor, pointerReaches } from './support/cagePointer';
import { cageShellForUid } from './support/cageByUid';
import { openShell, startSupervisor, type SupervisorProcess } from './support/supervisorProcess';
import { intersects, pictureBoxes, type Box } from './support/pictureBoxes';

type Level = 'low' | 'high';

const SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots', import.meta.url));

const CASES = [
  { lang: 'fr_FR.UTF-8', locale: 'fr', uids: { low: 57500, high: 57501 }, names: { low: 'Bas', high: 'Haut' }, nothing: 'Rien à copier', stalled: 'Bas n’a pas remis son presse-papiers à temps', pending: 'refus' },
  { lang: 'en_GB.UTF-8', locale: 'en', uids: { low: 57502, high: 57503 }, names: { low: 'Low', high: 'High' }, nothing: 'Nothing to copy', stalled: 'Low did not hand over its clipboard in time', pending: 'refusal' },
] as const;

const within = (inner: Box, outer: Box) => inner.x >= outer.x - 0.5 && inner.y >= outer.y - 0.5 && inner.x + inner.width <= outer.x + outer.width + 0.5 && inner.y + inner.height <= outer.y + outer.height + 0.5;

async function boxOf(page: Page, testId: string): Promise<Box> {
  const box = await page.getByTestId(testId).boundingBox();
  if (!box) throw new Error(`${testId} has no box`);
  return box;
}

const noticeOf = (page: Page, level: Level) => page.locator(`[data-testid=band-notice][data-level=${level}]`);

/**
 * The notice about `level` is visible, names it, lies within its level's title strip (inside its
 * frame), touches no other frame, and intersects no cage picture shown (either level's viewer box
 * or iframe).
 */
async function expectInOwnStrip(page: Page, level: Level, name: string, what: string): Promise<void> {
  const other: Level = level === 'low' ? 'high' : 'low';
  const notice = noticeOf(page, level);
  await expect(notice, `${what}: ${level}'s notice is shown`).toBeVisible();
  await expect(page.getByTestId(`notice-level-${level}`)).toHaveText(name);
  const box = (await notice.boundingBox())!;
  // First the property: no cage picture under it (what lies over a picture is the cage's).
  const pictures = await pictureBoxes(page);
  expect(pictures.length, `${what}: the pictures shown were found`).toBeGreaterThanOrEqual(2);
  for (const picture of pictures) expect(intersects(box, picture.box), `${what}: ${level}'s notice ${JSON.stringify(box)} lies over ${picture.what} ${JSON.stringify(picture.box)}`).toBe(false);
  const strip = await boxOf(page, `frame-strip-${level}`);
  expect(within(box, strip), `${what}: ${level}'s notice ${JSON.stringify(box)} lies within ${level}'s strip ${JSON.stringify(strip)}`).toBe(true);
  const own = await boxOf(page, `cage-frame-${level}`);
  expect(within(strip, own), `${what}: ${level}'s strip lies within its frame`).toBe(true);
  const otherFrame = page.getByTestId(`cage-frame-${other}`);
  if (await otherFrame.isVisible()) {
    const theirs = (await otherFrame.boundingBox())!;
    expect(intersects(box, theirs), `${what}: ${level}'s notice ${JSON.stringify(box)} touches ${other}'s frame ${JSON.stringify(theirs)}`).toBe(false);
  }
}

/** The cage's X screen, and its viewer box at rest (the notice's height given back), in device pixels. */
async function screenAndFrame(page: Page, level: Level, uid: number): Promise<{ screen: string; rest: string; shown: string }> {
  const sizes = await page.getByTestId(`viewer-${level}`).evaluate((el) => {
    const height = (selector: string) => el.closest('.frame')?.querySelector(selector)?.getBoundingClientRect().height ?? 0;
    const [strip, title] = [height('.frame__strip'), height('.frame__title')];
    const r = el.getBoundingClientRect();
    const dpr = window.devicePixelRatio;
    return { rest: `${Math.round(r.width * dpr)}x${Math.round((r.height + Math.max(0, strip - title)) * dpr)}`, shown: `${Math.round(r.width * dpr)}x${Math.round(r.height * dpr)}` };
  });
  const screen = await cageScreenSize(uid);
  return { screen: `${screen.width}x${screen.height}`, ...sizes };
}

const dims = (size: string) => {
  const [w = 0, h = 0] = size.split('x').map(Number);
  return { w, h };
};

/** The cage's X screen is its frame's size at rest (within a pixel of rounding). */
async function expectScreenAtRest(page: Page, level: Level, uid: number, what: string): Promise<string> {
  let last = '';
  await expect
    .poll(
      async () => {
        const s = await screenAndFrame(page, level, uid);
        last = s.screen;
        const [screen, rest] = [dims(s.screen), dims(s.rest)];
        return Math.abs(screen.w - rest.w) <= 1 && Math.abs(screen.h - rest.h) <= 1 ? 'fits' : `screen ${s.screen}, frame at rest ${s.rest} (shown ${s.shown})`;
      },
      { message: `${level}'s screen is its frame's at rest (${what})`, timeout: 15_000 },
    )
    .toBe('fits');
  return last;
}

/** No notice visible on screen intersects `level`'s frame unless it is about `level`. */
async function expectNothingForeignOver(page: Page, level: Level, what: string): Promise<void> {
  const frame = await boxOf(page, `cage-frame-${level}`);
  for (const notice of await page.locator('[data-testid=band-notice]').all()) {
    if (!(await notice.isVisible())) continue;
    const about = await notice.getAttribute('data-level');
    const box = (await notice.boundingBox())!;
    if (about !== level) expect(intersects(box, frame), `${what}: a notice about "${about}" (${await notice.innerText()}) lies over ${level}'s frame`).toBe(false);
  }
}

async function shellAt(browser: Browser, sup: SupervisorProcess, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await openShell(page, sup);
  return page;
}

async function toggleSplit(page: Page, want: 'split' | 'single'): Promise<void> {
  await page.getByTestId('open-overview').click();
  await page.getByTestId('overview-layout').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', want);
}

async function front(page: Page, level: Level): Promise<void> {
  await page.getByTestId(`switch-${level}`).click();
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', level);
}

/** A cage whose screen follows its frame (the default policy's geometry), a terminal on it. */
const autoCage = (uid: number) => bwrapCage({ uid, geometry: 'auto', apps: '[[xterm, -geometry, 120x40+0+0]]' });

for (const c of CASES) {
  test.describe(`notices under LANG=${c.lang}`, () => {
    let sup: SupervisorProcess;
    const inCage = (level: Level, script: string) => cageShellForUid(c.uids[level])(script);

    test.beforeAll(async () => {
      sup = await startSupervisor(twoLevelPolicy({ low: autoCage(c.uids.low), high: autoCage(c.uids.high) }), { env: { LANG: c.lang, LC_ALL: '', LC_MESSAGES: '' } });
    });
    test.afterAll(async () => {
      await sup?.stop();
    });

    test('attack: low stalls its clipboard while the user moves to high; its refusals never land over high', async ({ browser }) => {
      test.setTimeout(120_000);
      // low's clipboard held by an xclip the cage then stops: asked for its text, it never answers.
      writeFileSync(join(sup.homeOf('low'), 'stall.txt'), 'stalled', { mode: 0o644 });
      const stalled = await inCage('low', 'xclip -quiet -selection clipboard -i < ~/stall.txt > /dev/null 2>&1 & p=$!; sleep 0.4; kill -STOP $p; echo $p');
      expect(stalled.code).toBe(0);
      const page = await shellAt(browser, sup, { width: 1920, height: 1080 });
      try {
        for (const layout of ['split', 'single'] as const) {
          if (layout === 'split') await toggleSplit(page, 'split');
          await front(page, 'low');
          // A flood: three copies out of low, then at once the user is in high.
          for (let i = 0; i < 3; i++) await page.keyboard.press('Control+Alt+C');
          await page.keyboard.press('Control+Alt+PageDown');
          await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
          // The broker gives up after 3 s; its refusal comes back while high is in front.
          await expect(page.locator('[data-testid=band-notice]').first()).toBeAttached({ timeout: 15_000 });
          await page.waitForTimeout(3500); // the other copies' answers too
          await expectNothingForeignOver(page, 'high', `${layout} view, high in front`);
          // It is low's, wherever the user is now, and says why (it said "internal error").
          await expect(noticeOf(page, 'low')).toHaveCount(1);
          await expect(noticeOf(page, 'low')).toContainText(c.stalled);
          if (layout === 'split') {
            await expectInOwnStrip(page, 'low', c.names.low, 'split view, high in front');
            await page.screenshot({ path: test.info().outputPath(`${c.locale}-stalled-low-split.png`) });
            await page.getByTestId('band-notice-close').click();
            await expect(noticeOf(page, 'low')).toHaveCount(0);
            // Closing low's notice in low's frame did not move the keyboard: high keeps it.
            await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', 'high');
            expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('stage');
            await toggleSplit(page, 'single');
          } else {
            // Single view, high in front: low's refusal waits in low's frame, out of sight; low's own
            // button in the band says one waits.
            await expect(noticeOf(page, 'low')).toBeHidden();
            await expect(page.getByTestId('pending-notice-low')).toBeVisible();
            await expect(page.getByTestId('switch-low')).toContainText(c.pending);
            await page.screenshot({ path: test.info().outputPath(`${c.locale}-stalled-low-single-high.png`) });
            await front(page, 'low');
            await expectInOwnStrip(page, 'low', c.names.low, 'single view, back in low');
            await expect(page.getByTestId('pending-notice-low')).toHaveCount(0);
          }
        }
      } finally {
        await inCage('low', `kill -KILL ${stalled.stdout.trim()} 2>/dev/null; true`);
        await page.context().close();
      }
    });

    test('each level’s refusal in its own strip, never over a picture, split and single, 1920×1080 and 1024×768', async ({ browser }) => {
      test.setTimeout(120_000);
      // Both cages' clipboards and selections empty (no owner: the attack's xclip is gone): a copy out is refused.
      const page = await shellAt(browser, sup, { width: 1920, height: 1080 });
      try {
        await toggleSplit(page, 'split');
        await front(page, 'low');
        const before = await expectScreenAtRest(page, 'low', c.uids.low, 'split, no notice');
        await page.keyboard.press('Control+Alt+C');
        await expect(noticeOf(page, 'low')).toContainText(c.nothing);
        await expect(noticeOf(page, 'low')).toContainText(c.names.low);
        await expectInOwnStrip(page, 'low', c.names.low, 'split 1920×1080, low in front');
        await expectNothingForeignOver(page, 'high', 'split 1920×1080');
        // The strip grew and the picture's box shrank; the cage's screen did not move (no resize per notice).
        expect(await expectScreenAtRest(page, 'low', c.uids.low, 'split, low’s notice shown')).toBe(before);
        const shownNow = await screenAndFrame(page, 'low', c.uids.low);
        expect(shownNow.shown, 'the picture’s box is shorter while the notice shows').not.toBe(shownNow.rest);
        // high's own refusal: low's stays (one per level), each over its own frame.
        await front(page, 'high');
        await page.keyboard.press('Control+Alt+C');
        await expect(noticeOf(page, 'high')).toContainText(c.nothing);
        await expect(noticeOf(page, 'high')).toContainText(c.names.high);
        for (const level of ['low', 'high'] as const) await expectInOwnStrip(page, level, c.names[level], 'split 1920×1080, both');
        // While the notice shows the picture is scaled into the smaller box (the cage keeps its
        // screen): the pointer still reaches the cage's pixels, the far corner too.
        const screen = await cageScreenSize(c.uids.high);
        for (const [px, py] of [[100, 80], [screen.width - 2, screen.height - 2]] as const) {
          await pointerReaches(c.uids.high, `high's pixel ${px},${py}, its notice shown`, async () => {
            const aim = pagePointFor(await boxOf(page, 'viewer-high'), await cageScreenSize(c.uids.high), px, py);
            await page.mouse.move(aim.page.x, aim.page.y);
            return aim;
          });
        }
        const shot = test.info().outputPath(`${c.locale}-split-refusals-1920x1080.png`);
        await page.screenshot({ path: shot });
        if (c.locale === 'fr') {
          mkdirSync(SCREENSHOTS, { recursive: true });
          copyFileSync(shot, join(SCREENSHOTS, 'split-refusals.png'));
        }

        await page.setViewportSize({ width: 1024, height: 768 });
        for (const level of ['low', 'high'] as const) await expectInOwnStrip(page, level, c.names[level], 'split 1024×768');
        await page.screenshot({ path: test.info().outputPath(`${c.locale}-split-refusals-1024x768.png`) });

        await toggleSplit(page, 'single');
        for (const viewport of [{ width: 1024, height: 768 }, { width: 1920, height: 1080 }]) {
          await page.setViewportSize(viewport);
          for (const level of ['low', 'high'] as const) {
            await front(page, level);
            const other: Level = level === 'low' ? 'high' : 'low';
            await expectInOwnStrip(page, level, c.names[level], `single ${viewport.width}×${viewport.height}, ${level} in front`);
            await expect(noticeOf(page, other)).toBeHidden();
            await expect(page.getByTestId(`pending-notice-${other}`)).toBeVisible();
            await expect(page.getByTestId(`pending-notice-${level}`)).toHaveCount(0);
            await expectNothingForeignOver(page, level, `single ${viewport.width}×${viewport.height}`);
          }
        }
        await page.screenshot({ path: test.info().outputPath(`${c.locale}-single-high-1920x1080.png`) });
        // Closing high's leaves low's; high's screen is its frame's, whole again.
        const highBefore = await expectScreenAtRest(page, 'high', c.uids.high, 'single 1920×1080, high’s notice shown');
        await noticeOf(page, 'high').getByTestId('band-notice-close').click();
        await expect(noticeOf(page, 'high')).toHaveCount(0);
        await expect(noticeOf(page, 'low')).toHaveCount(1);
        expect(await expectScreenAtRest(page, 'high', c.uids.high, 'single 1920×1080, high’s notice gone')).toBe(highBefore);
        const gone = await screenAndFrame(page, 'high', c.uids.high);
        expect(gone.shown, 'without a notice the picture’s box is the frame at rest').toBe(gone.rest);
      } finally {
        await page.context().close();
      }
    });
  });
}
