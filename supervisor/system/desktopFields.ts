/**
 * The host's .desktop files (freedesktop.org desktop entries), as both the launcher's names and
 * icons (apps/desktopEntry.ts) and a level's default applications (cages/cageMimeApps.ts) read them.
 */

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where the host's packages put them. */
export const APPLICATIONS_DIR = '/usr/share/applications';

/** The [Desktop Entry] group's keys (the first of each). */
export function desktopFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let inEntry = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inEntry = line === '[Desktop Entry]';
      continue;
    }
    if (!inEntry || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!fields.has(key)) fields.set(key, line.slice(eq + 1).trim());
  }
  return fields;
}

/** A larger desktop entry is not one: it is not read. */
const MAX_DESKTOP_BYTES = 256 * 1024;

/** `<dir>/<file>.desktop`'s text; null when absent, unreadable or too large. */
export function readDesktopText(file: string, dir: string): string | null {
  try {
    const path = join(dir, `${file}.desktop`);
    if (statSync(path).size > MAX_DESKTOP_BYTES) return null;
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
