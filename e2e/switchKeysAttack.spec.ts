/**
 * Attacks on the level switch's keyboard (stageKeyboard.ts: the stage keeps the focus and hands
 * each key to the level in front when it comes), with real keys: a host X display with a French
 * layout, the shell's Chromium headful on it, xdotool as the keyboard, two real cages each logging
 * every raw key press and release its X server receives (xinput test-xi2).
 *
 *  - a key held down across a switch (by the shortcut, or by a click on the band while the key
 *    auto-repeats) must leave no key down in the level left, and type nothing in the new one;
 *  - a dead key typed in one level must not compose the next key typed in the other;
 *  - the hidden level's viewer frame must not take the focus and receive the keys typed for the
 *    level in front.
 */
import { expect, test } from '@playwright/test';
import { waitFor } from '../supervisor/testing/waitFor';
import { heldDown, levelKeysBench } from './support/levelKeys';

const bench = levelKeysBench();

/** Whether `level`'s X server saw a key pressed since `before`, and none is left down. */
const releasedIn = (level: string, before: number) => {
  const keys = bench.keys.rawKeys(level).slice(before);
  return keys.some((k) => k.down) && heldDown(keys).length === 0;
};

// Not serial: a test that fails does not keep the others from running (a new worker starts them).
test.describe.configure({ timeout: 180_000 });

test('a key held down across the switch shortcut leaves no key down in the level left, and types nothing in the new one', async () => {
  const { page } = bench.shell;
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  await bench.keys.typingIn(page, 'low');
  const lowBefore = bench.keys.rawKeys('low').length;
  const highBefore = bench.keys.rawKeys('high').length;
  await bench.display.xdotool('keydown', 'a');
  await page.waitForTimeout(150);
  await bench.display.key('ctrl+alt+Next');
  await bench.keys.frontIs(page, 'high');
  await bench.display.xdotool('keyup', 'a');
  await page.waitForTimeout(800);
  // The release the switch gives low reaches its X server through its viewer: late on a loaded machine.
  await waitFor(() => releasedIn('low', lowBefore), 'the key pressed, then released, in low', 15_000).catch(() => undefined);
  const low = bench.keys.rawKeys('low').slice(lowBefore);
  const high = bench.keys.rawKeys('high').slice(highBefore);
  console.log(`held across the shortcut: low saw ${JSON.stringify(low)}; high saw ${JSON.stringify(high)}`);
  expect(low.some((k) => k.down), 'the key reached low before the switch').toBe(true);
  expect.soft(heldDown(low), 'keycodes left down in low').toEqual([]);
  expect.soft(high.filter((k) => k.down), 'presses in high').toEqual([]);
});

test('a dead key typed in one level does not compose the key typed next in the other', async () => {
  const { page } = bench.shell;
  await bench.keys.typingIn(page, 'low');
  // What the trusted page sees, with the level in front at that moment.
  await page.evaluate(() => {
    const w = window as unknown as { __keysSeen: string[] };
    w.__keysSeen = [];
    for (const type of ['keydown', 'keypress']) {
      window.addEventListener(type, (e) => w.__keysSeen.push(`${type}:${(e as KeyboardEvent).key}@${document.querySelector<HTMLElement>('[data-testid=level-band]')?.dataset.level}`), { capture: true });
    }
  });
  await bench.display.key('dead_circumflex');
  await page.waitForTimeout(200);
  await bench.display.key('ctrl+alt+Next');
  await bench.keys.frontIs(page, 'high');
  await bench.display.key('e');
  await page.waitForTimeout(500);
  const seen = await page.evaluate(() => (window as unknown as { __keysSeen: string[] }).__keysSeen);
  console.log(`dead key in low, e in high: ${JSON.stringify(seen)}`);
  expect.soft(seen.filter((s) => s.includes('ê')), 'a character composed from a dead key typed in low').toEqual([]);
});

test('a key auto-repeating across a switch by a click on the band types nothing in the new level and is not left down in the old', async () => {
  const { page } = bench.shell;
  await bench.keys.typingIn(page, 'low');
  const button = await bench.keys.centreOf(page, 'switch-high');
  const lowBefore = bench.keys.rawKeys('low').length;
  const highBefore = bench.keys.rawKeys('high').length;
  await bench.display.xdotool('keydown', 'a');
  await page.waitForTimeout(700); // past the auto-repeat delay: the key repeats in low
  await bench.display.click(button.x, button.y);
  await bench.keys.frontIs(page, 'high');
  await page.waitForTimeout(1000); // still held: repeats
  await bench.display.xdotool('keyup', 'a');
  await page.waitForTimeout(800);
  // As above: low's release may still be on its way on a loaded machine.
  await waitFor(() => releasedIn('low', lowBefore), 'the key pressed, then released, in low', 15_000).catch(() => undefined);
  const low = bench.keys.rawKeys('low').slice(lowBefore);
  const high = bench.keys.rawKeys('high').slice(highBefore);
  console.log(`auto-repeat across a click switch: low saw ${low.filter((k) => k.down).length} presses, ${low.filter((k) => !k.down).length} releases, left down ${JSON.stringify(heldDown(low))}; high saw ${high.filter((k) => k.down).length} presses (keycodes ${JSON.stringify([...new Set(high.filter((k) => k.down).map((k) => k.code))])}), ${high.filter((k) => !k.down).length} releases, left down ${JSON.stringify(heldDown(high))}`);
  expect.soft(high.filter((k) => k.down), 'presses in high of a key held since low was in front').toEqual([]);
  expect.soft(heldDown(low), 'keycodes left down in low').toEqual([]);
});

test('the hidden level\'s viewer frame cannot take the focus and get the keys typed in the level in front', async () => {
  const { page } = bench.shell;
  await bench.keys.typingIn(page, 'high');
  const stolenKeys = await bench.keys.stealFocusFrom(page, 'low');
  await page.waitForTimeout(6500);
  const highBefore = bench.keys.rawKeys('high').length;
  await bench.display.type('secret');
  // Read once the six keys have landed, in high's X server or in low's frame: late on a loaded machine.
  const landed = async () => bench.keys.rawKeys('high').slice(highBefore).filter((k) => k.down).length + (await stolenKeys()).stolen.length;
  await waitFor(async () => (await landed()) >= 6, 'the six keys typed reaching high or the frame', 15_000).catch(() => undefined);
  const { stolen, active } = await stolenKeys();
  const high = bench.keys.rawKeys('high').slice(highBefore).filter((k) => k.down);
  console.log(`high in front, low's hidden frame focusing itself (its activation then: ${JSON.stringify(active)}): keys in low's frame ${JSON.stringify(stolen)}; presses in high ${high.length}`);
  expect.soft(stolen, 'keys typed for high that low\'s hidden frame received').toEqual([]);
  expect.soft(high.length, 'the keys still reach high').toBeGreaterThan(0);
});

test('with the hidden level\'s viewer frame grabbing the focus, the secure-attention key still opens the overview, and keys typed there reach no frame', async () => {
  const { page } = bench.shell;
  await bench.keys.typingIn(page, 'high');
  const stolenKeys = await bench.keys.stealFocusFrom(page, 'low');
  await page.waitForTimeout(6500);
  await bench.display.key('Pause');
  const overview = page.getByTestId('trusted-overview');
  const opened = await overview.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false);
  const afterPause = (await stolenKeys()).stolen;
  // Opened by a click on the band if the key did not: what is typed while it shows.
  if (!opened) await bench.display.click(...Object.values(await bench.keys.centreOf(page, 'open-overview')) as [number, number]);
  await expect(overview).toBeVisible();
  await bench.display.type('pin1234');
  await page.waitForTimeout(500);
  const whileOverview = (await stolenKeys()).stolen.slice(afterPause.length);
  console.log(`Pause with low's frame grabbing the focus: overview opened by the key ${opened}; keys in low's frame: ${JSON.stringify(afterPause)}; typed while the overview showed, in low's frame: ${JSON.stringify(whileOverview)}`);
  await page.keyboard.press('Escape');
  expect.soft(opened, 'the secure-attention key opened the trusted overview').toBe(true);
  expect.soft(afterPause, 'keys low\'s frame received (the secure-attention key among them)').toEqual([]);
  expect.soft(whileOverview, 'keys typed in the trusted overview that low\'s frame received').toEqual([]);
});
