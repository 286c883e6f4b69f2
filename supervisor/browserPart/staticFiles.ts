/**
 * The built renderer, read into memory by the browser part before it drops its privileges: the
 * part then needs no read access to any file (the code may sit in a folder only root can enter).
 * Its source maps left out: only DevTools asks for them, and the shell has none; they were 2.9 MB of
 * the build's 3.5, held for the part's life (bench/RESULTS.md, apps-memory).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Relative path ("index.html", "assets/x.js") → its bytes. */
export type StaticFiles = ReadonlyMap<string, Buffer>;

const MAX_FILES = 500;

/** A bundle's source map (vite writes one beside each script). */
const isSourceMap = (path: string) => path.endsWith('.map');

export function readStaticFiles(dir: string): StaticFiles {
  const files = new Map<string, Buffer>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !isSourceMap(path)) files.set(path, readFileSync(join(dir, path)));
      if (files.size > MAX_FILES) throw new Error(`${dir}: more than ${MAX_FILES} files, not a built renderer`);
    }
  };
  walk('');
  return files;
}
