/**
 * The user-like workstation the keyboard and pointer tests stand on (e2e/support/hostDisplay.ts):
 * an Xvnc display with the French keymap, the shell's Chromium headful on it as npm start runs
 * it, and xdotool's keystrokes and clicks reaching a plain page as a French keyboard's would.
 */
import { expect, test } from '@playwright/test';
import { launchShellBrowser, startHostDisplay, type HostDisplay, type ShellBrowser } from './support/hostDisplay';

const PAGE = `data:text/html;charset=utf-8,${encodeURIComponent(`<!doctype html><meta charset="utf-8"><title>clavier</title>
<body style="margin:0"><textarea id="t" style="position:absolute;left:0;top:0;width:600px;height:200px"></textarea>
<div id="target" style="position:absolute;left:700px;top:300px;width:100px;height:100px;background:#38c"></div>
<script>
window.codes = [];
t.addEventListener('keydown', (e) => codes.push(e.code + '=' + e.key));
window.clicks = [];
target.addEventListener('click', (e) => window.clicks.push([e.offsetX, e.offsetY]));
</script>`)}`;

let display: HostDisplay;
let shell: ShellBrowser;

test.describe('host display with a French keyboard', () => {
  test.beforeAll(async () => {
    display = await startHostDisplay({ layout: 'fr', width: 1600, height: 1000 });
    shell = await launchShellBrowser(display, { url: PAGE, width: 1200, height: 700, deviceScaleFactor: 1.5 });
  });
  test.afterAll(async () => {
    await shell?.close();
    await display?.stop();
  });

  test('the display has the layout asked for, the page the language', async () => {
    expect(await display.layout()).toEqual({ layout: 'fr', variant: '' });
    expect(await shell.page.evaluate(() => navigator.languages[0])).toBe('fr-FR');
  });

  test('xdotool typing reaches the page as a French keyboard types', async () => {
    const { page } = shell;
    await page.locator('#t').waitFor();
    const box = await shell.screenPoint(50, 50);
    await display.click(box.x, box.y);
    await expect(page.locator('#t')).toBeFocused();
    // Plain letters, AltGr characters and the accented letters of the fr keymap's own keys.
    await display.type('azerty @#{}[]|~€ éèàçù');
    await expect(page.locator('#t')).toHaveValue('azerty @#{}[]|~€ éèàçù');
    // 'a' is on the key a US keyboard calls Q: the fr keymap is the one in force.
    expect(await page.evaluate(() => (window as unknown as { codes: string[] }).codes[0])).toBe('KeyQ=a');
    // A dead key, then a letter: what a French user types for ê.
    await page.locator('#t').fill('');
    await display.key('dead_circumflex', 'e', 'dead_diaeresis', 'i');
    await expect(page.locator('#t')).toHaveValue('êï');
  });

  test('clicks land at the screen point screenPoint gives, at a device scale factor of 1.5', async () => {
    const { page } = shell;
    const at = await shell.screenPoint(700 + 30, 300 + 40);
    await display.click(at.x, at.y);
    await expect.poll(() => page.evaluate(() => (window as unknown as { clicks: number[][] }).clicks)).toEqual([[30, 40]]);
  });
});
