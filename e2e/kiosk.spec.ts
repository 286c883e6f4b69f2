/**
 * Kiosk mode in the browser host: the page refuses the browser every keyboard way out (reload,
 * devtools, zoom, new window, close, print, address bar, history…) and Ctrl+wheel zoom, while a
 * cage in front still receives its own Ctrl+S. The same page without kiosk mode is the control:
 * there the browser keeps its keys, so the assertions below can tell the difference.
 */
import { expect, test, type Page } from '@playwright/test';
import { KIOSK_BLOCKED_CHORDS } from '../shared/kioskKeys';
import { twoLevelPolicy, bwrapCage } from '../supervisor/testing/testPolicy';
import { KEY_LOGGER_APP, rawKeyPresses } from './support/cageProbes';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

let sup: SupervisorProcess;
const KEYCODE_S = 39; // evdev "s" as X reports it

test.beforeAll(async () => {
  const cage = bwrapCage({ geometry: '1024x640', apps: `[[xterm, -geometry, 120x40+0+0], ${KEY_LOGGER_APP}]` });
  sup = await startSupervisor(twoLevelPolicy({ low: cage, high: bwrapCage() }));
});
test.afterAll(async () => {
  await sup?.stop();
});

/** Playwright's spelling of a chord ("Ctrl+Shift+I" → "Control+Shift+I"). */
const playwrightKey = (chord: string) => chord.replace(/^Ctrl\+/, 'Control+').replace(/=$/, 'Equal').replace(/-$/, 'Minus');

async function open(page: Page, kiosk: boolean): Promise<void> {
  await page.goto(`${await sup.launchUrl()}${kiosk ? '&kiosk=1' : ''}`);
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  // Record, after every listener has run, whether the browser's default action was prevented.
  await page.evaluate(`(() => {
    window.__marker = 'still the same page';
    window.__seen = [];
    const note = (e) => window.__seen.push({ type: e.type, key: e.key || '', ctrl: e.ctrlKey, prevented: e.defaultPrevented });
    window.addEventListener('keydown', note);
    window.addEventListener('wheel', note, { passive: true });
  })()`);
}

const seen = (page: Page) => page.evaluate('window.__seen.splice(0)') as Promise<Array<{ type: string; key: string; prevented: boolean }>>;

test('kiosk: every blocked chord and Ctrl+wheel lose their browser action; the page is never left', async ({ page }) => {
  await open(page, true);
  await expect(page.locator('html')).toHaveAttribute('data-kiosk', '1');
  await page.getByTestId('level-band').click(); // focus on the shell, not on a cage
  for (const chord of KIOSK_BLOCKED_CHORDS) {
    // Playwright has no media keys: those are dispatched as the page would receive them.
    if (chord.startsWith('Browser')) await page.evaluate(`document.body.dispatchEvent(new KeyboardEvent('keydown', { key: '${chord}', bubbles: true, cancelable: true }))`);
    else await page.keyboard.press(playwrightKey(chord));
    const events = await seen(page);
    expect(events.filter((e) => e.type === 'keydown').at(-1), chord).toMatchObject({ prevented: true });
  }
  const band = (await page.getByTestId('band-level-name').boundingBox())!;
  await page.mouse.move(band.x + 5, band.y + 5); // over the shell itself (a cage's viewer takes its own wheel)
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await expect.poll(async () => (await seen(page)).filter((e) => e.type === 'wheel').map((e) => e.prevented)).toEqual([true]);
  expect(await page.evaluate('window.__marker')).toBe('still the same page');
  expect(await page.evaluate('window.visualViewport.scale')).toBe(1);
  expect(page.url()).not.toContain('#'); // still the shell (token removed from sight), not elsewhere
});

test('kiosk: the cage in front still receives its own Ctrl+S', async ({ page }) => {
  await open(page, true);
  await page.getByTestId('viewer-low').click();
  const before = rawKeyPresses(sup.homeOf('low')).filter((k) => k === KEYCODE_S).length;
  await page.keyboard.press('Control+S');
  await expect.poll(() => rawKeyPresses(sup.homeOf('low')).filter((k) => k === KEYCODE_S).length).toBe(before + 1);
});

test('control: without kiosk mode the same chords keep their browser action', async ({ page }) => {
  await open(page, false);
  await expect(page.locator('html')).not.toHaveAttribute('data-kiosk', '1');
  await page.getByTestId('level-band').click();
  for (const chord of ['Ctrl+P', 'Ctrl+U', 'Ctrl+Shift+I']) {
    await page.keyboard.press(playwrightKey(chord));
    expect((await seen(page)).filter((e) => e.type === 'keydown').at(-1), chord).toMatchObject({ prevented: false });
  }
});
