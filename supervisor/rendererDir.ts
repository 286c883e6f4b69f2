/** Where the shell's built renderer is, from the entry module's own place (its bundle or its source). */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function defaultRendererDir(moduleUrl: string): string | null {
  // Built layout: out/supervisor/<entry>.js next to out/renderer/; from source: supervisor/ beside out/.
  const here = dirname(fileURLToPath(moduleUrl));
  for (const candidate of [join(here, '..', 'renderer'), join(here, '..', 'out', 'renderer')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  return null;
}
