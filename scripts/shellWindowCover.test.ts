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
const folders: string[] = [];
afterEach(async () => {
  for (const child of started.reverse()) {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    for (const deadline = Date.now() + 5000; child.exitCode === null && child.signalCode === null && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  started.length = 0;
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}, 30_000);

function start(argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // A process group of its own: Chromium's zygote and renderers stopped with it.
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore', detached: true });
  started.push(child);
  return child;
}

function x(program: string, args: string[], display: string): string | null {
  const r = spawnSync(program, args, { env: { PATH: '/usr/bin:/bin', DISPLAY: display }, encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : null;
}

/** Xvnc on a free display number of its own (no TCP, no VNC port), answering. */
async function startXvnc(width: number, height: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-hostfit12-x-'));
  folders.push(dir);
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 700 + Math.floor(Math.random() * 200);
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) continue;
    const server = start(['Xvnc', `:${n}`, '-nolisten', 'tcp', '-rfbport', '-1', '-rfbunixpath', join(dir, 'vnc.sock'), '-SecurityTypes', 'None', '-geometry', `${width}x${height}`, '-depth', '24'], { PATH: '/usr/bin:/bin' });
    const display = `:${n}`;
    let up = false;
    await waitFor(() => {
      if (server.exitCode !== null) return true;
      up = x('xdpyinfo', [], display) !== null;
      return up;
    }, `Xvnc on ${display}`, 15_000, 100);
    if (up) return display;
  }
  throw new Error('no free X display number');
}

interface Geometry {
  x: number;
  y: number;
  width: number;
  height: number;
  state: string;
}

/** The shell's window on the display, as npm start opens it (its flags, its account, its profile). */
async function openShellWindow(display: string): Promise<Geometry> {
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
  let geometry: Geometry | null = null;
  // Its window, once mapped and settled (a window manager maximizes it a moment after it maps).
  let last = '';
  let same = 0;
  await waitFor(() => {
    const id = x('xdotool', ['search', '--onlyvisible', '--name', 'cloison-hostfit12'], display)?.trim().split('\n')[0];
    if (!id) return false;
    const info = x('xwininfo', ['-id', id], display) ?? '';
    const field = (name: string) => Number(new RegExp(`${name}:\\s*(-?\\d+)`).exec(info)?.[1]);
    const state = x('xprop', ['-id', id, '_NET_WM_STATE'], display) ?? '';
    geometry = { x: field('Absolute upper-left X'), y: field('Absolute upper-left Y'), width: field('Width'), height: field('Height'), state };
    const now = JSON.stringify(geometry);
    same = now === last ? same + 1 : 0;
    last = now;
    return same >= 4;
  }, "the shell's window, mapped and settled", 60_000, 250);
  return geometry!;
}

describe("the shell's window fills the screen (#26)", skipWhen(missing && `needs ${missing}`), () => {
  for (const [width, height] of [[1920, 1080], [1366, 768]] as const) {
    it(`covers a ${width}×${height} screen where no window manager runs`, async () => {
      const display = await startXvnc(width, height);
      const window = await openShellWindow(display);
      expect(window.x, JSON.stringify(window)).toBeLessThanOrEqual(0);
      expect(window.y, JSON.stringify(window)).toBeLessThanOrEqual(0);
      expect(window.x + window.width, JSON.stringify(window)).toBeGreaterThanOrEqual(width);
      expect(window.y + window.height, JSON.stringify(window)).toBeGreaterThanOrEqual(height);
    }, 120_000);
  }

  it('is maximized by the window manager where one runs (openbox: the work area, its title bar kept)', async () => {
    const display = await startXvnc(1366, 768);
    start(['openbox'], { PATH: '/usr/bin:/bin', DISPLAY: display, HOME: folders[0]! });
    await waitFor(() => /window id # 0x/.test(x('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], display) ?? ''), 'openbox running', 20_000, 100);
    const window = await openShellWindow(display);
    expect(window.state, JSON.stringify(window)).toMatch(/_NET_WM_STATE_MAXIMIZED_VERT/);
    expect(window.state, JSON.stringify(window)).toMatch(/_NET_WM_STATE_MAXIMIZED_HORZ/);
    expect(window.width, JSON.stringify(window)).toBe(1366);
    expect(window.x, JSON.stringify(window)).toBe(0);
  }, 120_000);
});
