/**
 * The shell's window fills the screen (issue #26: Chromium --app with a fresh profile opened its
 * default ~945×1060 window at 10,10 on a 1920×1080 screen, every start). Run for real: a TigerVNC
 * Xvnc display of the test's own, the display read as npm start reads it (readShellDisplay, as the
 * account Chromium runs as), Chromium started with start.mjs's flags (shellChromiumArgs and
 * shellWindowArgs) as that account, sandboxed; its window's geometry then read with xwininfo.
 * Without a window manager the window covers the screen (1920×1080 and 1366×768); with one
 * (openbox), it is maximized by it (_NET_WM_STATE), the screen's width and the work area's height.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { skipWhen } from '../supervisor/testing/skipWithReason';
import { waitFor } from '../supervisor/testing/waitFor';
import { covers, settledWindow, startXvnc as startXvncDisplay, stopGroup, xClient, type WindowGeometry, type XvncDisplay } from '../supervisor/testing/xvncDisplay';
import { shellChromiumArgs, writeShellChromiumProfile } from './shellChromium.mjs';
import { readShellDisplay, shellWindowArgs } from './shellDisplay.mjs';

/** The account npm start's browser host runs Chromium as in tests (scripts/setup.sh makes it). */
const SHELL_TEST_USER = 'cloison-shell-test';
const CHROMIUM = '/usr/bin/chromium';

function accountOf(name: string): { name: string; uid: number; gid: number } | null {
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':');
  return entry.length < 7 ? null : { name, uid: Number(entry[2]), gid: Number(entry[3]) };
}
const account = accountOf(SHELL_TEST_USER);
const missing = !existsSync(CHROMIUM)
  ? 'no Chromium (/usr/bin/chromium)'
  : process.getuid?.() !== 0
    ? 'runs Chromium as another account: needs root'
    : !account
      ? `no ${SHELL_TEST_USER} account (scripts/setup.sh makes it)`
      : ['Xvnc', 'xwininfo', 'xprop', 'xdotool', 'openbox'].find((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) ?? null;

/** What each test started, stopped (process groups) and removed after it. */
const started: ChildProcess[] = [];
const displays: XvncDisplay[] = [];
const folders: string[] = [];
afterEach(async () => {
  for (const child of started.splice(0).reverse()) await stopGroup(child);
  for (const display of displays.splice(0)) await display.stop();
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}, 30_000);

function start(argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // A process group of its own: Chromium's zygote and renderers stopped with it.
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore', detached: true });
  started.push(child);
  return child;
}

async function startXvnc(width: number, height: number): Promise<string> {
  const display = await startXvncDisplay(width, height);
  displays.push(display);
  return display.display;
}

/** The shell's window on the display, as npm start opens it (its flags, its account, its profile). */
async function openShellWindow(display: string): Promise<WindowGeometry> {
  const user = account!;
  const profile = mkdtempSync(join(tmpdir(), 'cloison-hostfit12-shell-'));
  folders.push(profile);
  chmodSync(profile, 0o700);
  chownSync(profile, user.uid, user.gid);
  writeShellChromiumProfile(profile, { locale: 'fr', owner: user });
  const env = { PATH: '/usr/bin:/bin', DISPLAY: display, HOME: profile, USER: user.name, LOGNAME: user.name, LANG: 'fr_FR.UTF-8' };
  const { screen } = readShellDisplay({ env, user });
  expect(screen, 'the display read as the shell account').not.toBeNull();
  const args = ['--app=data:text/html,<title>cloison-hostfit12</title>', `--user-data-dir=${profile}`, ...shellChromiumArgs({ locale: 'fr' }), ...shellWindowArgs({ kiosk: false, screen })];
  start(['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--', CHROMIUM, ...args], env);
  return settledWindow(display, ['--name', 'cloison-hostfit12']);
}

describe("the shell's window fills the screen (#26)", skipWhen(missing && `needs ${missing}`), () => {
  for (const [width, height] of [[1920, 1080], [1366, 768]] as const) {
    it(`covers a ${width}×${height} screen where no window manager runs`, async () => {
      const display = await startXvnc(width, height);
      const window = await openShellWindow(display);
      expect(covers(window, width, height), JSON.stringify(window)).toBe(true);
    }, 120_000);
  }

  it('is maximized by the window manager where one runs (openbox: the work area, its title bar kept)', async () => {
    const display = await startXvnc(1366, 768);
    start(['openbox'], { PATH: '/usr/bin:/bin', DISPLAY: display, HOME: tmpdir() });
    await waitFor(() => /window id # 0x/.test(xClient('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], display) ?? ''), 'openbox running', 20_000, 100);
    const window = await openShellWindow(display);
    expect(window.state, JSON.stringify(window)).toMatch(/_NET_WM_STATE_MAXIMIZED_VERT/);
    expect(window.state, JSON.stringify(window)).toMatch(/_NET_WM_STATE_MAXIMIZED_HORZ/);
    expect(window.width, JSON.stringify(window)).toBe(1366);
    expect(window.x, JSON.stringify(window)).toBe(0);
  }, 120_000);
});
