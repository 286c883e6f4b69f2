/**
 * Loads a CommonJS bundle with the V8 code cache `npm run build` wrote beside it (codeCacheFile.ts),
 * so that a process started often (the `cloison` part, #29) does not compile its 2 MB at each start.
 * Node 20 has no compile cache of its own for ES modules.
 *
 * A cache is code: V8 runs its bytecode without comparing it to the source. It is taken only from
 * a file of root's or of the account the process runs as when it reads it (before its restriction), writable
 * by its owner alone, and not through a link: the part, once restricted to `cloison`, can write no
 * file its next start would take (a compromised part must not persist code across its restarts).
 * Anything else — missing, refused, V8's own refusal after a Node upgrade — is a plain load, said in
 * one line, never a failed start. Read (readBundleCode) and run (runBundleCode) apart: the part reads
 * before it restricts itself, as Node read its whole bundle before (cloisonPartEntry.ts).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { decodeCodeCache } from './codeCacheFile';

/** A module's source as Node's own CommonJS loader wraps it (what the cache is V8's code of). */
export function commonJsWrapped(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

export interface CompiledBundle {
  script: Script;
  exports: Record<string, unknown>;
}

/** Compiles and runs a CommonJS bundle (with V8's bytes when given) and returns its exports. */
export function runCommonJsBundle(file: string, source: string, cachedData?: Buffer): CompiledBundle {
  const script = new Script(commonJsWrapped(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { script, exports: module.exports };
}

/** The cache file's bytes when its owner and mode may be trusted, or why not. */
function trustedCacheBytes(file: string, trustedUids: readonly number[]): { bytes: Buffer } | { refused: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { refused: code === 'ENOENT' ? 'none was built' : code === 'ELOOP' ? 'it is a link' : `unreadable (${code})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { refused: 'not a regular file' };
    if (!trustedUids.includes(st.uid)) return { refused: `owned by uid ${st.uid}, neither root nor the account that reads it` };
    if ((st.mode & 0o022) !== 0) return { refused: `writable by others than its owner (mode ${(st.mode & 0o777).toString(8)})` };
    return { bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

export interface BundleCode {
  file: string;
  source: string;
  /** V8's bytes for it, or null with the one line that says why its source is compiled. */
  cachedData: Buffer | null;
  note: string | null;
}

/**
 * A bundle and its cache (`<file>.cache`), read now — by a part before it restricts itself, as
 * Node read its whole bundle before — to be run later (runBundleCode). The cache is taken when it
 * is root's or this process's own (`trustedUids`, root and the current uid by default).
 */
export function readBundleCode(file: string, trustedUids: readonly number[] = [...new Set([0, process.geteuid!()])]): BundleCode {
  const source = readFileSync(file, 'utf8');
  const cache = trustedCacheBytes(`${file}.cache`, trustedUids);
  const decoded = 'bytes' in cache ? decodeCodeCache(cache.bytes, source) : cache;
  if ('data' in decoded) return { file, source, cachedData: decoded.data, note: null };
  return { file, source, cachedData: null, note: `${file}: its code cache is not used (${decoded.refused}): compiled from its source` };
}

/** Runs what readBundleCode read; `say` gets the line a plain load is explained by. */
export function runBundleCode(code: BundleCode, say: (line: string) => void): Record<string, unknown> {
  if (code.note) say(code.note);
  const { script, exports } = runCommonJsBundle(code.file, code.source, code.cachedData ?? undefined);
  if (script.cachedDataRejected) say(`${code.file}: its code cache was refused by V8 (another Node or other flags than at its build): compiled from its source`);
  return exports;
}
