/**
 * A level's default applications: which of its applications opens a document of each type, for
 * `xdg-open`, `gio open` and the file manager (PCManFM's libfm asks GLib, as Firefox and LibreOffice
 * do). Derived from the policy's apps alone: each app's host .desktop file (the one that names it in
 * the launcher) gives the types it opens (`MimeType=`), and where two claim one type the policy's
 * order decides — unless an app's entry says it opens that type (`opens:`, the administrator's word:
 * LibreOffice Writer claims text/plain too, and a .txt opens in the text editor). An app the level
 * does not ship is never named; a type none of its apps claims has no default (the file manager
 * then asks, as before).
 *
 * Written by the supervisor into the cage's run folder and bound read-only as the cage's first XDG
 * configuration folder (XDG_CONFIG_DIRS=/run/cloison-xdg:/etc/xdg): the system default the cage
 * cannot change. The cage's own ~/.config/mimeapps.list still wins (the user's choice, the cage's
 * business). What opens is started by the program that asked (the file manager, the browser), a
 * cage process: it runs in the cage with its filter, cgroup and uid, and nothing crosses a boundary.
 *
 * What opens is the policy's app, as the policy writes its command line: each app with a .desktop
 * file gets the level's copy of it (its [Desktop Entry] group: names, icon, types) whose Exec is the
 * policy's `documentExec` (else its `exec`) and the file argument the host's Exec takes. The
 * embedded policy's PDF viewer opens documents in `mupdf` (Debian's mupdf-x11) and starts from the
 * launcher as mupdf-gl (its file dialog): mupdf-gl, maximized by the cage's openbox right after it
 * maps, draws its first frame into Mesa's software GL buffer of its first size and nothing more
 * until an input event — half a window (issue #26, pdfpaint-13). Its actions, TryExec and D-Bus
 * activation are left out: only the policy's command line starts it from a document. These copies
 * are all the cage sees of /usr/share/applications (a read-only folder bound over the host's): the
 * file manager's "open with" and menus, xdg-open's fallback to the host's mimeinfo.cache, GLib's
 * guesses find the level's apps only — not Firefox in high because the host has it. And xdg-open's
 * last resort for a type no app claims, a browser (BROWSER, else x-www-browser...), is the level's
 * own browser (the app opening https), or none (BROWSER=":", an empty list: xdg-open then says it
 * has no method).
 *
 * The .desktop files are the host's (/usr/share/applications, root's packages, the cage's /usr):
 * read here on the trusted side, never from a cage.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIME_TYPE, type AppPolicy } from '../../shared/policy';
import { APPLICATIONS_DIR, desktopFields, readDesktopText } from '../system/desktopFields';

/** Where the cage finds its XDG system configuration (mimeapps.list) first. */
export const CAGE_XDG_CONFIG_DIR = '/run/cloison-xdg';
/** The cage's XDG_CONFIG_DIRS: the supervisor's folder, then the host's /etc/xdg (openbox, user-dirs). */
export const CAGE_XDG_CONFIG_DIRS = `${CAGE_XDG_CONFIG_DIR}:/etc/xdg`;
/** The folder of the cage's run folder holding it. */
export const MIME_APPS_FOLDER = 'xdg';
/** The folder of the cage's run folder holding the level's copies of its apps' .desktop files. */
export const DESKTOP_FILES_FOLDER = 'applications';
/** BROWSER for a level without a browser: an empty list (xdg-open and Python's webbrowser skip empty entries). */
export const NO_BROWSER = ':';

const DESKTOP_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `<dir>/<file>.desktop`'s text when it is a usable application's; null otherwise. */
function desktopText(file: string, dir: string): string | null {
  if (!DESKTOP_FILE.test(file)) return null;
  const text = readDesktopText(file, dir);
  if (text === null) return null;
  const fields = desktopFields(text);
  if (fields.get('Hidden') === 'true' || (fields.get('Type') ?? 'Application') !== 'Application') return null;
  return text;
}

/** The `MimeType=` types of `<dir>/<file>.desktop`; null when there is no such file (or it is not a usable application). */
export function desktopMimeTypes(file: string, dir = APPLICATIONS_DIR): string[] | null {
  const text = desktopText(file, dir);
  if (text === null) return null;
  return (desktopFields(text).get('MimeType') ?? '').split(';').map((t) => t.trim()).filter((t) => MIME_TYPE.test(t));
}

/** One argument of an Exec line (desktop entry specification): quoted when it must be, % doubled. */
export function execArgument(arg: string): string {
  const escaped = arg.replace(/%/g, '%%');
  if (/^[A-Za-z0-9._/:=,+@%-]+$/.test(escaped)) return escaped;
  // Quoted: ", `, $ and \ take a backslash; then the value's own escape doubles every backslash.
  return `"${escaped.replace(/["`$\\]/g, (c) => `\\${c}`)}"`.replace(/\\/g, '\\\\');
}

/** Keys of the host's entry the level's copy leaves out: what would start anything but the policy's command line. */
const DROPPED_KEYS = new Set(['Exec', 'TryExec', 'DBusActivatable', 'Actions', 'Hidden']);

/**
 * The level's copy of a host .desktop file: its [Desktop Entry] group alone, its Exec the policy's
 * command line and the host's file argument (%f, %F, %u or %U, the first in its Exec); null when the
 * text has no such group. Control characters other than the line's end are never copied.
 */
export function levelDesktopEntry(hostText: string, exec: readonly string[]): string | null {
  const lines: string[] = [];
  let inEntry = false;
  let found = false;
  let fileArgument = '';
  for (const raw of hostText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('[')) {
      inEntry = line.trim() === '[Desktop Entry]';
      found ||= inEntry;
      continue;
    }
    if (!inEntry || /[\p{Cc}]/u.test(line)) continue;
    const key = line.slice(0, Math.max(0, line.indexOf('='))).trim().replace(/\[.*$/, '');
    if (key === 'Exec' && !fileArgument) fileArgument = /(?:^|\s)(%[fFuU])(?=\s|$)/.exec(line.slice(line.indexOf('=') + 1))?.[1] ?? '';
    if (DROPPED_KEYS.has(key)) continue;
    lines.push(line);
  }
  if (!found) return null;
  const command = [...exec.map(execArgument), ...(fileArgument ? [fileArgument] : [])].join(' ');
  return ['[Desktop Entry]', ...lines.filter((l) => l.trim() !== ''), `Exec=${command}`, ''].join('\n');
}

type MimeApp = Pick<AppPolicy, 'id' | 'desktop' | 'opens'>;

/**
 * Each type a level's apps open: the .desktop file names claiming it, first those whose policy entry
 * says it opens the type (`opens`), then those whose .desktop file does, each in the policy's order.
 * An app without a .desktop file is named for nothing: the cage would find no program under its name.
 */
export function mimeClaims(apps: readonly MimeApp[], typesOf: (file: string) => string[] | null = (f) => desktopMimeTypes(f)): Map<string, string[]> {
  const claims = new Map<string, string[]>();
  const known = apps.flatMap((app) => {
    const file = app.desktop ?? app.id;
    const types = typesOf(file);
    return types === null ? [] : [{ name: `${file}.desktop`, said: app.opens ?? [], types }];
  });
  const claim = (type: string, name: string) => {
    const names = claims.get(type) ?? [];
    if (!names.includes(name)) names.push(name);
    claims.set(type, names);
  };
  for (const app of known) for (const type of app.said) if (MIME_TYPE.test(type)) claim(type, app.name);
  for (const app of known) for (const type of app.types) claim(type, app.name);
  return claims;
}

/**
 * The level's mimeapps.list: [Default Applications] names the first app claiming each type,
 * [Added Associations] every app of the level claiming it (the file manager's "open with" lists
 * them first), both in the policy's order.
 */
export function mimeAppsList(apps: readonly MimeApp[], typesOf?: (file: string) => string[] | null): string {
  const claims = [...mimeClaims(apps, typesOf)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    "# Cloison: the level's default applications, from its policy's apps (generated by the supervisor; do not edit)",
    '[Default Applications]',
    ...claims.map(([type, names]) => `${type}=${names[0]};`),
    '',
    '[Added Associations]',
    ...claims.map(([type, names]) => `${type}=${names.join(';')};`),
    '',
  ].join('\n');
}

type DocumentApp = MimeApp & { exec: readonly string[]; documentExec?: readonly string[] };

/** The command line an app opens a document with: its policy's `documentExec`, else its `exec`. */
export function documentCommand(app: DocumentApp): readonly string[] {
  return app.documentExec ?? app.exec;
}

/**
 * Writes the level's defaults into the cage's run folder (root's): its mimeapps.list, and its copy of
 * each of its apps' .desktop files (the first app naming a file gives its command line). Replaced
 * whole at each start: an app the policy no longer gives the level leaves nothing behind.
 */
export function writeCageMimeApps(runDir: string, apps: readonly DocumentApp[], dir = APPLICATIONS_DIR): void {
  const config = join(runDir, MIME_APPS_FOLDER);
  const applications = join(runDir, DESKTOP_FILES_FOLDER);
  for (const folder of [config, applications]) {
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    chmodSync(folder, 0o755);
  }
  for (const old of readdirSync(applications)) rmSync(join(applications, old), { force: true, recursive: true });
  const written = new Set<string>();
  for (const app of apps) {
    const file = app.desktop ?? app.id;
    if (written.has(file)) continue;
    const text = desktopText(file, dir);
    const entry = text === null ? null : levelDesktopEntry(text, documentCommand(app));
    if (entry === null) continue;
    writeFileSync(join(applications, `${file}.desktop`), entry, { mode: 0o444 });
    written.add(file);
  }
  writeFileSync(join(config, 'mimeapps.list.new'), mimeAppsList(apps, (f) => desktopMimeTypes(f, dir)), { mode: 0o444 });
  renameSync(join(config, 'mimeapps.list.new'), join(config, 'mimeapps.list'));
}

/**
 * The level's browser for xdg-open's last resort: the command line of the app opening https first,
 * when it is plain words (BROWSER is split at spaces); NO_BROWSER otherwise.
 */
export function levelBrowser(apps: readonly DocumentApp[], typesOf?: (file: string) => string[] | null): string {
  const name = mimeClaims(apps, typesOf).get('x-scheme-handler/https')?.[0];
  const app = apps.find((a) => `${a.desktop ?? a.id}.desktop` === name);
  const command = app ? documentCommand(app) : [];
  return app && command.every((arg) => /^[A-Za-z0-9._/=,+@-]+$/.test(arg)) ? command.join(' ') : NO_BROWSER;
}

/**
 * bwrap arguments: the mimeapps.list's folder first in XDG_CONFIG_DIRS, the level's .desktop files
 * over the host's /usr/share/applications (read-only; bound where the host has that folder, which
 * bwrap cannot make in the read-only /usr), its browser. After --clearenv.
 */
export function cageMimeAppsArgs(runDir: string, browser: string, hostApplications = existsSync(APPLICATIONS_DIR)): string[] {
  return [
    '--ro-bind', join(runDir, MIME_APPS_FOLDER), CAGE_XDG_CONFIG_DIR,
    ...(hostApplications ? ['--ro-bind', join(runDir, DESKTOP_FILES_FOLDER), APPLICATIONS_DIR] : []),
    '--setenv', 'XDG_CONFIG_DIRS', CAGE_XDG_CONFIG_DIRS,
    '--setenv', 'BROWSER', browser,
  ];
}
