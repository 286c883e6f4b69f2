/**
 * The built renderer, read into memory by the browser part before it drops its privileges: the
 * part then needs no read access to any file (the code may sit in a folder only root can enter).
 * A few megabytes, a dozen files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Relative path ("index.html", "assets/x.js") → its bytes. */
export type StaticFiles = ReadonlyMap<string, Buffer>;

const MAX_FILES = 500;

export function readStaticFiles(dir: string): StaticFiles {
  const files = new Map<string, Buffer>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.set(path, readFileSync(join(dir, path)));
      if (files.size > MAX_FILES) throw new Error(`${dir}: more than ${MAX_FILES} files, not a built renderer`);
    }
  };
  walk('');
  return files;
}
