/**
 * The cage manager's program (out/supervisor/cageManager.js): it restricts itself (rootPartRestriction.ts)
 * before the rest of the manager loads. The restriction executes the process again, and an image
 * that runs only this much before it does initialises the manager's modules once, not twice (the
 * first image's were measured at 0.4 s of a loaded start): the part is then started that much
 * sooner. As rootPartEntry.ts does for the root supervisor. Built, the rest is a CommonJS bundle
 * beside it (managerCode.ts) loaded with the code cache the build wrote (codeCache/loadWithCodeCache.ts:
 * only a cache of root's); the SIGHUP hold and the restriction are the process's, seen by both.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundleCode, runBundleCode } from '../codeCache/loadWithCodeCache';
import { restrictRootPart } from '../sandbox/rootPartRestriction';
import { holdHup } from './managerHupHold';

type ManagerCode = typeof import('./managerCode');

holdHup();
restrictRootPart();
const here = fileURLToPath(import.meta.url);
// From source (tsx) the modules are imported; a specifier esbuild leaves alone.
const code: ManagerCode = here.endsWith('.ts')
  ? ((await import(new URL('./managerCode.ts', import.meta.url).href)) as ManagerCode)
  : (runBundleCode(readBundleCode(join(dirname(here), 'cageManagerMain.cjs')), (line) => process.stderr.write(`cloison-cage-manager: ${line}\n`)) as ManagerCode);
code.runCageManager();
