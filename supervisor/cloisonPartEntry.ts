/**
 * The `cloison` part's program (out/supervisor/cloisonPart.js, or this source through tsx), started
 * by the cage manager (cageManager/cloisonPart.ts): it reads its start and restricts itself for
 * good (cloisonPartRestriction.ts: the `cloison` user, no capability, NoNewPrivs, its own syscall
 * filter cloisonPartSeccompProgram: the service's less the namespace calls its bwrap needs) before
 * the supervisor's modules even load, then runs the supervisor as the part. Built, those modules
 * are a CommonJS bundle beside it (cloisonPartCode.ts) loaded with the code cache the build wrote
 * (codeCache/loadWithCodeCache.ts): only a cache of root's or of the account it started as.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restrictCloisonPart } from './cageManager/cloisonPartRestriction';
import { readBundleCode, runBundleCode } from './codeCache/loadWithCodeCache';

type PartCode = typeof import('./cloisonPartCode');

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith('.ts');
// Read before the restriction, as Node read the whole bundle before: a cache of root's (or of the
// account it started as) may be used, never one of `cloison`'s.
let built = fromSource ? null : readBundleCode(join(dirname(here), 'cloisonPartMain.cjs'));
const start = restrictCloisonPart();
// From source (tsx, the tests) the modules are imported; a specifier esbuild leaves alone.
const code: PartCode = built
  ? (runBundleCode(built, (line) => process.stderr.write(`${line}\n`)) as PartCode)
  : ((await import(new URL('./cloisonPartCode.ts', import.meta.url).href)) as PartCode);
// Not kept for the part's life: the cache's megabyte is V8's code now.
built = null;
await code.runCloisonPart(start);
