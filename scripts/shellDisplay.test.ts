/**
 * What npm start reads of the display the shell opens on (issue #26): the keyboard layout its user
 * types with (`setxkbmap -query`), the screen's size and whether a window manager runs — and the
 * window's flags that follow. The real run (Chromium on Xvnc, its window read with xwininfo) is
 * shellWindowCover.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { displayKeyboardArgument, parseRootGeometry, parseSetxkbmapQuery, parseWindowManagerCheck, readShellDisplay, shellWindowArgs } from './shellDisplay.mjs';

describe("the display's keyboard layout (setxkbmap -query)", () => {
  it('is the first layout of the list, with the variant in its place', () => {
    expect(parseSetxkbmapQuery('rules:      evdev\nmodel:      pc105\nlayout:     fr\n')).toEqual({ layout: 'fr', variant: '' });
    expect(parseSetxkbmapQuery('rules:      evdev\nmodel:      pc105\nlayout:     fr,us\nvariant:    bepo,\noptions:    grp:alt_shift_toggle\n')).toEqual({ layout: 'fr', variant: 'bepo' });
    expect(parseSetxkbmapQuery('layout:     us,fr\nvariant:    ,oss\n')).toEqual({ layout: 'us', variant: '' });
    expect(parseSetxkbmapQuery('layout:     de\nvariant:    nodeadkeys\n')).toEqual({ layout: 'de', variant: 'nodeadkeys' });
  });

  it('is none when the display names none, or names what is not an XKB name (no path, no option passed on)', () => {
    for (const bad of [null, '', 'rules: evdev\n', 'layout:\n', 'layout:     ../../tmp/x\n', 'layout:     fr\nvariant:    -option\n', 'layout:     FR\n', 'layout:     fr ctrl:swap\n']) {
      expect(parseSetxkbmapQuery(bad), String(bad)).toBeNull();
    }
  });

  it('travels as LAYOUT or LAYOUT:VARIANT', () => {
    expect(displayKeyboardArgument({ layout: 'fr', variant: '' })).toBe('fr');
    expect(displayKeyboardArgument({ layout: 'fr', variant: 'bepo' })).toBe('fr:bepo');
  });
});

describe("the shell's window", () => {
  const xwininfo = 'xwininfo: Window id: 0x3e3 (the root window) (has no name)\n\n  Absolute upper-left X:  0\n  Absolute upper-left Y:  0\n  Relative upper-left X:  0\n  Relative upper-left Y:  0\n  Width: 1366\n  Height: 768\n  Depth: 24\n';
  it('reads the screen and whether a window manager runs', () => {
    expect(parseRootGeometry(xwininfo)).toEqual({ width: 1366, height: 768 });
    expect(parseRootGeometry('')).toBeNull();
    expect(parseWindowManagerCheck('_NET_SUPPORTING_WM_CHECK(WINDOW): window id # 0x400001\n')).toBe(true);
    expect(parseWindowManagerCheck('_NET_SUPPORTING_WM_CHECK:  not found.\n')).toBe(false);
    expect(parseWindowManagerCheck(null)).toBe(false);
  });

  it('kiosk: as before; a window manager: maximized; none: over the screen (one row taller: Chromium shrinks a screen-sized window by one pixel)', () => {
    expect(shellWindowArgs({ kiosk: true, screen: { width: 1920, height: 1080, windowManager: false } })).toEqual(['--kiosk']);
    expect(shellWindowArgs({ kiosk: false, screen: { width: 1920, height: 1080, windowManager: true } })).toEqual(['--start-maximized']);
    expect(shellWindowArgs({ kiosk: false, screen: null })).toEqual(['--start-maximized']);
    expect(shellWindowArgs({ kiosk: false, screen: { width: 1366, height: 768, windowManager: false } })).toEqual(['--window-position=0,0', '--window-size=1366,769']);
  });

  it('is read on the display only, as the shell user, and nothing when there is no X display', () => {
    const calls: unknown[] = [];
    const user = { uid: 4242, gid: 4242 };
    const answers: Record<string, string> = { xwininfo, xprop: '_NET_SUPPORTING_WM_CHECK:  not found.\n', setxkbmap: 'layout:     fr\n' };
    const run = (program: string, args: string[], options: { env: NodeJS.ProcessEnv; user: unknown }) => {
      calls.push([program, args, options.env.DISPLAY, options.user]);
      return answers[program] ?? null;
    };
    expect(readShellDisplay({ env: { DISPLAY: ':7' }, user, run })).toEqual({ screen: { width: 1366, height: 768, windowManager: false }, keyboard: { layout: 'fr', variant: '' } });
    expect(calls).toEqual([
      ['xwininfo', ['-root'], ':7', user],
      ['xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], ':7', user],
      ['setxkbmap', ['-query'], ':7', user],
    ]);
    expect(readShellDisplay({ env: { WAYLAND_DISPLAY: 'wayland-0' }, run })).toEqual({ screen: null, keyboard: null });
    // A Wayland session's Xwayland: its screen, not its layout names (not necessarily the compositor's).
    expect(readShellDisplay({ env: { DISPLAY: ':7', WAYLAND_DISPLAY: 'wayland-0' }, run })).toEqual({ screen: { width: 1366, height: 768, windowManager: false }, keyboard: null });
    expect(readShellDisplay({ env: { DISPLAY: ':7' }, run: () => null })).toEqual({ screen: null, keyboard: null });
  });

  it('as root with no user to read as, asks the display nothing (its replies are the user\'s to shape)', (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip();
    // A display that would answer anything: none is even tried (the real X clients, no fake).
    expect(readShellDisplay({ env: { PATH: '/usr/bin:/bin', DISPLAY: ':0' }, user: null })).toEqual({ screen: null, keyboard: null });
    expect(readShellDisplay({ env: { PATH: '/usr/bin:/bin', DISPLAY: ':0' }, user: { uid: 0, gid: 0 } })).toEqual({ screen: null, keyboard: null });
  });
});
