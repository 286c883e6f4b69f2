// What npm start reads of the display the shell's window opens on (issue #26), as the user the
// window is for (their DISPLAY and Xauthority, as Chromium then runs): the screen's size and
// whether a window manager runs (the window's geometry), and the keyboard layout the user types
// with there (`setxkbmap -query`: their session's, set by GNOME/KDE settings or setxkbmap, which
// /etc/default/keyboard often is not).
//
// Each reading is bounded (a display that does not answer costs 3 s, once) and may fail: the
// window is then only asked to be maximized, and the layout is left to the part (the host's files,
// else us). Nothing here is read from a cage: this is the user's own display, before any cage runs.
import { spawnSync } from 'node:child_process';

/** An XKB layout or variant name, as in /usr/share/X11/xkb/symbols (shared/keyboardLayout.ts's XKB_NAME). */
export const XKB_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** Longest run of one X client here. */
const CLIENT_TIMEOUT_MS = 3000;

/**
 * The layout in `setxkbmap -query`'s output: the first of its list (the one in force at start),
 * with the variant in that place of the variant list. Null when there is none or when either is
 * not an XKB name (no path, no option passed on).
 */
export function parseSetxkbmapQuery(text) {
  const field = (name) => new RegExp(`^${name}:[ \\t]*(\\S*)[ \\t]*$`, 'm').exec(text ?? '')?.[1] ?? '';
  const layout = field('layout').split(',')[0].trim();
  const variant = (field('variant').split(',')[0] ?? '').trim();
  if (!XKB_NAME.test(layout)) return null;
  if (variant !== '' && !XKB_NAME.test(variant)) return null;
  return { layout, variant };
}

/** How the layout travels to the supervisor or the manager: `--display-keyboard fr` or `fr:bepo`. */
export function displayKeyboardArgument({ layout, variant }) {
  return variant ? `${layout}:${variant}` : layout;
}

/** The root window's size in `xwininfo -root`'s output, or null. */
export function parseRootGeometry(text) {
  const width = Number(/^\s*Width:\s*(\d+)\s*$/m.exec(text ?? '')?.[1]);
  const height = Number(/^\s*Height:\s*(\d+)\s*$/m.exec(text ?? '')?.[1]);
  return Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 ? { width, height } : null;
}

/** Whether `xprop -root _NET_SUPPORTING_WM_CHECK` names a window: an EWMH window manager runs. */
export function parseWindowManagerCheck(text) {
  return /_NET_SUPPORTING_WM_CHECK\(WINDOW\): window id # 0x[0-9a-f]+/i.test(text ?? '');
}

/**
 * The window's flags, besides Chromium's own (shellChromium.mjs). Kiosk: --kiosk, as before.
 * Otherwise maximized: with a window manager, --start-maximized alone (the work area, its panels
 * kept; a size given beside it wins over the maximize, tried with openbox). Without one,
 * --start-maximized does nothing (Chromium's default ~945×1060 window at 10,10), so the window is
 * placed at 0,0 over the screen. One row taller than the screen: a window asked for exactly the
 * screen's size gets one pixel less each way (1919×1079 on 1920×1080, tried on Xvnc), leaving a
 * column and a row of the desktop beside it; one a row taller is given as asked, its last row
 * (the cage's bottom edge) below the screen. A screen that could not be read: maximized only.
 */
export function shellWindowArgs({ kiosk, screen }) {
  if (kiosk) return ['--kiosk'];
  if (!screen || screen.windowManager) return ['--start-maximized'];
  return ['--window-position=0,0', `--window-size=${screen.width},${screen.height + 1}`];
}

/**
 * Runs an X client on the display as `user` (setpriv when we are root, with no capability), with
 * only the display's environment. Its stdout, or null when it failed, did not answer in time, or
 * would have run as root.
 */
function xClient(program, args, { env, user }) {
  const asRoot = process.getuid?.() === 0;
  // Root never talks to a user's display itself: the X server's replies are the user's to shape.
  if (asRoot && (!user || user.uid === 0)) return null;
  const argv = asRoot ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--', program, ...args] : [program, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout: CLIENT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout : null;
}

/**
 * What the display says, read as `user` with `env` (DISPLAY, XAUTHORITY, HOME, PATH): `screen`
 * ({ width, height, windowManager } or null) and `keyboard` ({ layout, variant } or null). Only an
 * X display is asked (DISPLAY set); in a Wayland session (WAYLAND_DISPLAY set) its Xwayland is asked
 * the screen only: Xwayland's layout names need not be the compositor's (the host's files then).
 */
export function readShellDisplay({ env, user = null, run = xClient }) {
  if (!env.DISPLAY) return { screen: null, keyboard: null };
  const root = parseRootGeometry(run('xwininfo', ['-root'], { env, user }));
  const screen = root ? { ...root, windowManager: parseWindowManagerCheck(run('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], { env, user })) } : null;
  const keyboard = env.WAYLAND_DISPLAY ? null : parseSetxkbmapQuery(run('setxkbmap', ['-query'], { env, user }));
  return { screen, keyboard };
}
