/**
 * The trusted path with two real cages, each running an X key logger: the secure-attention key
 * reaches no cage in any modifier state and always opens the trusted overview; keys go only to the
 * cage in front, also when a client sends them straight to the gateway; the band, frames, split
 * view and overview are drawn in the shell's colours only.
 */
import { HIGH_COLOUR, LOW_COLOUR } from '../supervisor/testing/testPolicy';
import { expect, test, type Page } from '@playwright/test';
import WebSocket from 'ws';
import { KEY_LOGGER_APP, KEYCODE, rawKeyPresses, typeUntilLogged } from './support/cageProbes';
import { Screenshot } from './support/pixels';
import { openShell as openShellOf, startSupervisor, TEST_TRUST_PHRASE, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

const LOW = LOW_COLOUR;
const HIGH = HIGH_COLOUR;
let sup: SupervisorProcess;

test.beforeAll(async () => {
  sup = await startSupervisor(twoCagePolicy({ extraApps: [KEY_LOGGER_APP] }));
});
test.afterAll(async () => {
  await sup?.stop();
});

const openShell = (page: Page) => openShellOf(page, sup);

async function frontIs(page: Page, level: string): Promise<void> {
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', level);
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-input-level', level);
}

/** Types `x` into the cage in front until its key logger shows it (the cage may still be starting). */
const provenTyping = (page: Page, level: string) => typeUntilLogged(page, level, sup.homeOf(level));

const MODIFIER_SETS = (() => {
  const names = ['Control', 'Alt', 'Shift', 'Meta'];
  const sets: string[][] = [];
  for (let m = 0; m < 16; m++) sets.push(names.filter((_, i) => m & (1 << i)));
  return sets;
})();

test('the secure-attention key reaches no cage, in any modifier state, and always opens the overview', async ({ page }) => {
  await openShell(page);
  for (const level of ['low', 'high']) {
    if (level === 'high') await page.getByTestId('switch-high').click();
    await frontIs(page, level);
    await provenTyping(page, level); // the logger works and this cage has the keyboard
    for (const mods of MODIFIER_SETS) {
      await page.keyboard.press([...mods, 'Pause'].join('+'));
      await expect(page.getByTestId('trusted-overview'), `Pause with [${mods}] in ${level}`).toBeVisible();
      await expect(page.getByTestId('overview-trust')).toContainText(TEST_TRUST_PHRASE);
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('trusted-overview')).toHaveCount(0);
    }
  }
  await page.waitForTimeout(300);
  for (const level of ['low', 'high']) expect(rawKeyPresses(sup.homeOf(level)), `Pause seen by ${level}`).not.toContain(KEYCODE.pause);
});

/** One key as a keyboard sends it, through Chromium's input pipeline (CDP), not a synthetic page event. */
async function physicalKey(cdp: import('@playwright/test').CDPSession, key: { key: string; code: string; vk: number }, modifiers = 0): Promise<void> {
  const event = { key: key.key, code: key.code, windowsVirtualKeyCode: key.vk, nativeVirtualKeyCode: key.vk, modifiers };
  await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...event });
  await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', ...event });
}

test('Pause and Ctrl+Pause as a real keyboard sends them (Ctrl+Pause is key "Cancel", code "Pause") open the overview and reach no cage', async ({ page }) => {
  await openShell(page);
  await page.getByTestId('switch-low').click();
  await frontIs(page, 'low');
  await provenTyping(page, 'low');
  const cdp = await page.context().newCDPSession(page);
  const CONTROL = { key: 'Control', code: 'ControlLeft', vk: 17 };
  const sequences: Array<[string, () => Promise<void>]> = [
    ['Pause', () => physicalKey(cdp, { key: 'Pause', code: 'Pause', vk: 19 })],
    [
      'Ctrl+Pause (Break)',
      async () => {
        await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: CONTROL.key, code: CONTROL.code, windowsVirtualKeyCode: 17, modifiers: 2 });
        await physicalKey(cdp, { key: 'Cancel', code: 'Pause', vk: 3 }, 2);
        await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: CONTROL.key, code: CONTROL.code, windowsVirtualKeyCode: 17, modifiers: 0 });
      },
    ],
  ];
  for (const [name, press] of sequences) {
    await press();
    await expect(page.getByTestId('trusted-overview'), name).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('trusted-overview')).toHaveCount(0);
  }
  await page.waitForTimeout(300);
  for (const level of ['low', 'high']) expect(rawKeyPresses(sup.homeOf(level)), `Pause seen by ${level}`).not.toContain(KEYCODE.pause);
});

test('keys typed with low in front produce no key event in high', async ({ page }) => {
  await openShell(page);
  await page.getByTestId('switch-low').click();
  await frontIs(page, 'low');
  const highBefore = rawKeyPresses(sup.homeOf('high')).length;
  const lowBefore = rawKeyPresses(sup.homeOf('low')).length;
  await page.getByTestId('viewer-low').click({ position: { x: 300, y: 300 } });
  await page.keyboard.type('secret typed in low', { delay: 10 });
  await expect.poll(() => rawKeyPresses(sup.homeOf('low')).length - lowBefore).toBeGreaterThanOrEqual(19);
  await page.waitForTimeout(300);
  expect(rawKeyPresses(sup.homeOf('high')).length).toBe(highBefore);
});

// The stage keeps the focus across a switch and hands each key to the level in front when it
// comes (stageKeyboard.ts): keys typed right after the shortcut, with no click to give a cage the
// focus, reach the new cage and never the one left.
test('keys typed right after a switch shortcut, without a click, reach the new cage only', async ({ page }) => {
  await openShell(page);
  await provenTyping(page, 'low');
  // The typed x only: the shortcut's own Control and Alt reach the cage in front before its
  // PageDown is taken, as they always did, and may be logged after the switch.
  const xs = (level: string) => rawKeyPresses(sup.homeOf(level)).filter((k) => k === KEYCODE.x).length;
  // Rapid switches, back and forth, ending on high.
  for (let i = 0; i < 7; i++) await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'high');
  const lowBefore = xs('low');
  const highBefore = xs('high');
  // The first keys may come before the supervisor moved the gateway's gate: typed until one shows.
  await expect
    .poll(async () => {
      await page.keyboard.press('x');
      await page.waitForTimeout(200);
      return xs('high') - highBefore;
    }, { timeout: 20_000 })
    .toBeGreaterThan(0);
  await page.waitForTimeout(300);
  expect(xs('low'), 'keys seen by low after the switch to high').toBe(lowBefore);
  await page.keyboard.press('Control+Alt+PageDown');
  await expect(page.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
  const highAfter = xs('high');
  await expect
    .poll(async () => {
      await page.keyboard.press('x');
      await page.waitForTimeout(200);
      return xs('low') - lowBefore;
    }, { timeout: 20_000 })
    .toBeGreaterThan(0);
  await page.waitForTimeout(300);
  expect(xs('high'), 'keys seen by high after the switch to low').toBe(highAfter);
  expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.cageInput)).toBe('low');
});

test('the gateway drops input for the cage behind even when a client sends it directly', async ({ page }) => {
  await openShell(page);
  await page.getByTestId('switch-low').click();
  await frontIs(page, 'low');
  const secret = new URL(await sup.launchUrl()).hash.replace('#launch=', '');
  const rpc = new WebSocket(`${sup.origin.replace('http', 'ws')}/rpc`, ['cloison.v1', `cloison-launch.${secret}`], { origin: sup.origin });
  await new Promise((r) => rpc.once('open', r));
  const call = (method: string, params: unknown) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = Math.floor(Math.random() * 1e9);
      const onMessage = (d: WebSocket.RawData) => {
        const frame = JSON.parse(d.toString());
        if (frame.id === id) {
          rpc.off('message', onMessage);
          resolve(frame);
        }
      };
      rpc.on('message', onMessage);
      rpc.send(JSON.stringify({ type: 'request', id, method, params }));
    });
  const { result } = (await call('vnc.ticket', { level: 'high' })) as { result: { ticket: string } };
  const viewer = new WebSocket(`${sup.origin.replace('http', 'ws')}/vnc?level=high&ticket=${result.ticket}`, { origin: sup.origin });
  const received: Buffer[] = [];
  viewer.on('message', (d: Buffer) => received.push(d));
  await new Promise((r) => viewer.once('open', r));
  viewer.send(Buffer.from('RFB 003.008\n'));
  await expect.poll(() => Buffer.concat(received).length).toBeGreaterThanOrEqual(14);
  viewer.send(Buffer.from([1])); // security None
  viewer.send(Buffer.from([1])); // ClientInit
  await expect.poll(() => Buffer.concat(received).length).toBeGreaterThan(40); // ServerInit arrived
  const before = rawKeyPresses(sup.homeOf('high')).length;
  const xDownUp = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x78, 4, 0, 0, 0, 0, 0, 0, 0x78]);
  for (let i = 0; i < 5; i++) viewer.send(xDownUp);
  await page.waitForTimeout(500);
  expect(rawKeyPresses(sup.homeOf('high')).length).toBe(before);
  // Control: once high is in front, the very same bytes do arrive.
  await call('focus.set', { level: 'high' });
  viewer.send(xDownUp);
  await expect.poll(() => rawKeyPresses(sup.homeOf('high')).length).toBeGreaterThan(before);
  viewer.close();
  rpc.close();
});

function expectOnly(shot: Screenshot, region: [number, number, number, number], colour: string, what: string): void {
  expect(shot.coloursIn(...region), what).toEqual(new Set([colour]));
}

test('screenshots in low, high, split and overview hold only the shell colours in the trusted areas', async ({ page }) => {
  await openShell(page);
  await page.getByTestId('switch-low').click();
  await frontIs(page, 'low');
  const shot = async (name: string) => new Screenshot(await page.screenshot({ path: test.info().outputPath(`${name}.png`) }));

  let s = await shot('low');
  expectOnly(s, [0, 0, s.width, 4], LOW, 'band top in low');
  expectOnly(s, [0, 48, 6, s.height], LOW, 'left frame edge in low');
  await expect(page.getByTestId('band-trust')).toContainText(TEST_TRUST_PHRASE);

  await page.keyboard.press('Control+Alt+PageDown');
  await frontIs(page, 'high');
  s = await shot('high');
  expectOnly(s, [0, 0, s.width, 4], HIGH, 'band top in high');
  expectOnly(s, [s.width - 6, 48, s.width, s.height], HIGH, 'right frame edge in high');

  await page.keyboard.press('Pause');
  await expect(page.getByTestId('trusted-overview')).toBeVisible();
  await expect(page.getByTestId('dim-low')).toBeVisible();
  await expect(page.getByTestId('dim-high')).toBeVisible();
  await page.waitForTimeout(600);
  s = await shot('overview');
  expectOnly(s, [0, 0, s.width, 4], HIGH, 'band top in the overview');

  await page.getByTestId('overview-layout').click();
  await expect(page.getByTestId('stage')).toHaveAttribute('data-layout', 'split');
  const lowBox = (await page.getByTestId('cage-frame-low').boundingBox())!;
  const highBox = (await page.getByTestId('cage-frame-high').boundingBox())!;
  expect(lowBox.x + lowBox.width).toBeLessThanOrEqual(highBox.x); // side by side
  s = await shot('split-high');
  expectOnly(s, [Math.ceil(lowBox.x), Math.ceil(lowBox.y) + 30, Math.ceil(lowBox.x) + 5, Math.floor(lowBox.y + lowBox.height) - 1], LOW, 'low frame edge in split');
  expectOnly(s, [Math.floor(highBox.x + highBox.width) - 5, Math.ceil(highBox.y) + 30, Math.floor(highBox.x + highBox.width) - 1, Math.floor(highBox.y + highBox.height) - 1], HIGH, 'high frame edge in split');

  // A click in the low frame gives low the keyboard; the band names it.
  await page.getByTestId('viewer-low').click({ position: { x: 100, y: 100 } });
  await frontIs(page, 'low');
  await expect(page.getByTestId('frame-title-low')).toContainText('clavier', { useInnerText: true });
  await expect(page.getByTestId('frame-title-high')).not.toContainText('clavier', { useInnerText: true });
  s = await shot('split-low');
  expectOnly(s, [0, 0, s.width, 4], LOW, 'band top after clicking low in split view');
  await provenTyping(page, 'low');
});

test('the trusted overview cannot be covered by a cage and only the user closes it', async ({ page }) => {
  await openShell(page);
  await page.getByTestId('open-overview').click();
  const overview = page.getByTestId('trusted-overview');
  await expect(overview).toBeVisible();
  // Keys meant for a cage while the overview is open go nowhere.
  const before = rawKeyPresses(sup.homeOf('low')).length;
  await page.keyboard.type('xxxx');
  await page.waitForTimeout(300);
  expect(rawKeyPresses(sup.homeOf('low')).length).toBe(before);
  await expect(overview).toBeVisible();
  const z = await page.evaluate(() => {
    const o = document.querySelector('[data-testid=trusted-overview]')!;
    const r = o.querySelector('.overview__panel')!.getBoundingClientRect();
    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.closest('[data-testid=trusted-overview]') !== null;
  });
  expect(z).toBe(true);
  await page.getByTestId('overview-close').click();
  await expect(overview).toHaveCount(0);
});
