/**
 * A user's day on a French keyboard (issue #26): the host has no /etc/default/keyboard and no
 * localectl to ask (the lead's host, and this one), the user's session set `setxkbmap fr` on their
 * display, and the policy names no layout. npm start reads the display as the shell's user
 * (scripts/shellDisplay.mjs's readShellDisplay, the code start.mjs runs) and starts the supervisor
 * (split: the manager, which hands it to its part) with --display-keyboard: the band and the lock
 * screen say FR, the badge's tooltip says it is the session's, the cage's X server has fr, and a
 * key typed on the display gives the French character in the cage's terminal. Before #26 the band
 * said US there, and the cage typed q for a.
 *
 * TigerVNC's Xvnc, not Xvfb (it ignores keymap changes): e2e/support/hostDisplay.ts.
 */
import { spawnSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { scratchDir } from '../supervisor/cages/cageMounts';
import { queryCageKeymap } from '../supervisor/keyboard/cageKeymap';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { displayKeyboardArgument, readShellDisplay } from '../scripts/shellDisplay.mjs';
import { launchShellBrowser, lockAndShowUnlockBadge, SHELL_TEST_USER, startHostDisplay, typeUntilCageReads, type HostDisplay, type ShellBrowser } from './support/hostDisplay';
import { startSupervisor, type SupervisorProcess } from './support/supervisorProcess';

/** The low cage's terminal writes what it receives to a file of its home. No `keyboard:` in the policy. */
const POLICY = twoLevelPolicy({
  low: bwrapCage({ geometry: '1024x640', apps: '[[xterm, -geometry, 120x40+0+0, -fa, DejaVu Sans Mono, -fs, "12", -e, sh, -c, "cat > $HOME/typed.txt"]]' }),
  high: bwrapCage(),
});

function account(name: string): { uid: number; gid: number } {
  const [, , uid, gid] = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

test.describe("the display's keyboard layout, when the policy names none (#26)", () => {
  test.describe.configure({ timeout: 180_000 });
  let sup: SupervisorProcess;
  let display: HostDisplay;
  let shell: ShellBrowser;
  test.beforeAll(async () => {
    test.setTimeout(150_000);
    display = await startHostDisplay({ layout: 'fr', width: 1400, height: 900 });
    // As start.mjs: the display read as the account the shell's Chromium runs as.
    const read = readShellDisplay({ env: { PATH: '/usr/bin:/bin', DISPLAY: display.display, HOME: display.dir }, user: account(SHELL_TEST_USER) });
    expect(read.keyboard).toEqual({ layout: 'fr', variant: '' });
    sup = await startSupervisor(POLICY, { extraArgs: ['--display-keyboard', displayKeyboardArgument(read.keyboard!)] });
    shell = await launchShellBrowser(display, { url: sup.url, width: 1280, height: 800 });
  });
  test.afterAll(async () => {
    await shell?.close();
    await display?.stop();
    await sup?.stop();
  });

  test('the band says FR (the session’s), the cage has fr, and a French key gives its character', async () => {
    const { page } = shell;
    await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
    const badge = page.getByTestId('band-keyboard-layout');
    await expect(badge).toHaveAttribute('data-layout', 'fr');
    await expect(badge).toHaveAttribute('data-variant', '');
    await expect(badge).toContainText('FR');
    await expect(badge).toHaveAttribute('title', /session/);
    const x11 = scratchDir(bwrapCagePaths(sup.cageStateDir, sup.cageRunDir, 'low').scratch, 'x11');
    await expect.poll(() => queryCageKeymap(x11), { timeout: 20_000 }).toEqual({ layout: 'fr', variant: '' });
    const received = await typeUntilCageReads(shell, display, 'low', sup.homeOf('low'));
    const before = received().length;
    // Through the display's fr keymap: the letters of its own keys (é, à, ç on the digit row,
    // unshifted), its AltGr levels (@ on AltGr+à, € on AltGr+e), ² left of 1.
    await display.type('azerty éàç @€ ²');
    await display.key('Return');
    await expect.poll(() => received().subarray(before).toString('utf8'), { timeout: 10_000 }).toContain('\n');
    expect(received().subarray(before).toString('utf8')).toBe('azerty éàç @€ ²\n');
    await page.screenshot({ path: test.info().outputPath('display-fr.png') });
  });

  test('the lock screen shows FR beside the password field', async () => {
    const badge = await lockAndShowUnlockBadge(shell, display);
    await expect(badge).toHaveAttribute('data-layout', 'fr');
    await expect(badge).toContainText('FR');
  });
});
