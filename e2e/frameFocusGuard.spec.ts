/**
 * The trusted page's own check on the keyboard focus (frameFocusGuard.ts), with real keys on a
 * French host display: a viewer frame that gets the focus anyway — here one acting within a user
 * activation, which the browser's BlockingFocusWithoutUserActivation lets through — loses it at
 * once, is unloaded and journaled, comes back after a back-off, and stays unloaded, saying so,
 * after three grabs. The keys typed meanwhile go to the level in front, none to the frame.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { waitFor } from '../supervisor/testing/waitFor';
import { levelKeysBench } from './support/levelKeys';

const bench = levelKeysBench();

test.describe.configure({ timeout: 240_000 });

function focusRecords(): { level: string; grabs: number }[] {
  return readFileSync(join(bench.sup.stateDir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; level: string; grabs: number })
    .filter((r) => r.kind === 'viewer.focusTaken');
}

/** low's frame grabs the focus at once (within the activation Playwright's evaluate gives it); 'ok' is typed for high. */
async function grabOnce(page: Page): Promise<void> {
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  const stolenKeys = await bench.keys.stealFocusFrom(page, 'low', 0);
  await page.waitForTimeout(300);
  const highBefore = bench.keys.rawKeys('high').length;
  const highPresses = () => bench.keys.rawKeys('high').slice(highBefore).filter((k) => k.down).length;
  await bench.display.type('ok');
  // Read once both keys have landed, in high's X server or in the frame: through the viewer and the cage, late on a loaded machine.
  await waitFor(async () => highPresses() + (await stolenKeys()).stolen.length >= 2, 'the two keys typed reaching high or the frame', 15_000).catch(() => undefined);
  const got = { stolen: (await stolenKeys()).stolen, high: highPresses() };
  console.log(`low's frame grabbed the focus: keys in it ${JSON.stringify(got.stolen)}, presses in high ${got.high}`);
  expect(got.stolen, 'keys typed for high that low\'s frame received').toEqual([]);
  expect(got.high, 'the keys still reach high').toBeGreaterThan(0);
  await expect(page.getByTestId('cage-frame-low'), 'low\'s viewer is unloaded').toHaveAttribute('data-viewer', /grabbed|withheld/);
}

test('a viewer frame that gets the focus loses it at once, is unloaded and journaled, and stays unloaded after three grabs', async () => {
  const { page } = bench.shell;
  await bench.keys.typingIn(page, 'high');
  await grabOnce(page);
  await expect(page.getByTestId('viewer-frame-low'), 'low\'s frame is unloaded').toHaveCount(0);
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'the focus is back on the stage').toBe('stage');
  await expect.poll(focusRecords).toEqual([expect.objectContaining({ level: 'low', grabs: 1, actor: 'shell' })]);

  // Loaded again after the back-off; it grabs again, twice: then it stays unloaded.
  await grabOnce(page);
  await grabOnce(page);
  await expect.poll(() => focusRecords().map((r) => r.grabs)).toEqual([1, 2, 3]);
  await page.waitForTimeout(9000); // past any back-off
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'withheld');
  await expect(page.getByTestId('viewer-frame-low')).toHaveCount(0);

  // What the user sees in low: the message and a reconnect button, which loads it again.
  await bench.display.key('ctrl+alt+Next');
  await bench.keys.frontIs(page, 'low');
  await expect(page.getByTestId('overlay-low')).toContainText(/a pris le clavier plusieurs fois|took the keyboard several times/);
  await page.screenshot({ path: test.info().outputPath('withheld-viewer.png') });
  const button = await bench.keys.centreOf(page, 'reconnect-low');
  await bench.display.click(button.x, button.y);
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
});
