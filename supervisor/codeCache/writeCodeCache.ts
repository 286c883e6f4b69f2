/**
 * `npm run build`'s writer of a CommonJS bundle's code cache (`<bundle>.cache`, codeCacheFile.ts):
 * run as `node writeCodeCache.mjs <bundle>`, it starts again under the parts' Node flags (V8 refuses
 * a cache made under other flags), compiles and runs the bundle's top level — every module's
 * initialisation — and its `warmCodeCache` export (the first work the part does), then saves V8's
 * code for all that was compiled. Only the build writes it, in the root-owned code the part runs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PART_NODE_FLAGS } from '../sandbox/unprivilegedPart';
import { encodeCodeCache } from './codeCacheFile';
import { runCommonJsBundle } from './loadWithCodeCache';

const bundle = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!bundle) throw new Error('usage: writeCodeCache.mjs <bundle.cjs>');

if (process.execArgv.join(' ') !== PART_NODE_FLAGS.join(' ')) {
  const run = spawnSync(process.execPath, [...PART_NODE_FLAGS, fileURLToPath(import.meta.url), bundle], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const source = readFileSync(bundle, 'utf8');
const { script, exports } = runCommonJsBundle(bundle, source);
const warm = exports.warmCodeCache;
if (typeof warm === 'function') await (warm as () => unknown)();
const cache = `${bundle}.cache`;
writeFileSync(`${cache}.new`, encodeCodeCache(source, script.createCachedData()));
chmodSync(`${cache}.new`, 0o644);
renameSync(`${cache}.new`, cache);
// The bundle's modules may hold handles open (timers, a logger's stream): the cache is written.
process.exit(0);
