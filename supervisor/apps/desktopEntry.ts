/**
 * An application's name and icon as the host describes it: its .desktop file in
 * /usr/share/applications and a PNG of its icon from the host's icon themes. Read on the host,
 * from root's packages — never from a cage — so what the launcher shows cannot be changed by one.
 *
 * Icons are PNG only: an SVG is a document (scripts, external references) the trusted page would
 * have to parse, and a PNG from the hicolor theme exists for nearly every packaged application.
 * An application without one gets the shell's own letter tile.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { APPLICATIONS_DIR, desktopFields, readDesktopText } from '../system/desktopFields';

export { APPLICATIONS_DIR, desktopFields };

export interface DesktopEntry {
  name: { fr: string; en: string };
  /** data:image/png;base64,... or null. */
  icon: string | null;
  /** The X class its windows carry (StartupWMClass), when the file names one: how its open windows are counted. */
  windowClass?: string;
}

const ICON_ROOTS = ['/usr/share/icons/hicolor', '/usr/share/icons/Adwaita'];
const ICON_SIZES = ['48x48', '64x64', '32x32', '128x128', '96x96', '256x256', '24x24', '22x22', '16x16'];
const ICON_KINDS = ['apps', 'legacy'];
/** A larger icon is not an icon: it would only weigh on the RPC. */
const MAX_ICON_BYTES = 64 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ICON_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NAME_MAX = 60;
const WINDOW_CLASS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Reads `<dir>/<file>.desktop`; null when absent or unreadable. */
export function readDesktopEntry(file: string, dir = APPLICATIONS_DIR, iconRoots = ICON_ROOTS): DesktopEntry | null {
  const text = readDesktopText(file, dir);
  if (text === null) return null;
  const fields = desktopFields(text);
  const en = cleanName(fields.get('Name'));
  if (!en) return null;
  const fr = cleanName(fields.get('Name[fr_FR]') ?? fields.get('Name[fr]')) || en;
  const iconName = fields.get('Icon') ?? '';
  const windowClass = fields.get('StartupWMClass') ?? '';
  return { name: { fr, en }, icon: findPngIcon(iconName, iconRoots), ...(WINDOW_CLASS.test(windowClass) ? { windowClass } : {}) };
}

/** One line of printable text, at most NAME_MAX characters. */
function cleanName(value: string | undefined): string {
  return [...(value ?? '').replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim()].slice(0, NAME_MAX).join('');
}

/** The icon as a PNG data URL: an absolute .png under /usr/share, or a name looked up in the themes, then pixmaps. */
export function findPngIcon(icon: string, iconRoots = ICON_ROOTS): string | null {
  const candidates: string[] = [];
  if (icon.startsWith('/usr/share/') && icon.endsWith('.png') && !icon.includes('/../')) candidates.push(icon);
  else if (ICON_NAME.test(icon)) {
    for (const root of iconRoots) for (const size of ICON_SIZES) for (const kind of ICON_KINDS) candidates.push(join(root, size, kind, `${icon}.png`));
    candidates.push(join('/usr/share/pixmaps', `${icon}.png`));
  }
  for (const path of candidates) {
    try {
      if (statSync(path).size > MAX_ICON_BYTES) continue;
      const png = readFileSync(path);
      if (png.subarray(0, 8).equals(PNG_SIGNATURE)) return `data:image/png;base64,${png.toString('base64')}`;
    } catch {
      /* not there: the next candidate */
    }
  }
  return null;
}
