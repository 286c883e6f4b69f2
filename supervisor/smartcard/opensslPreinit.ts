/**
 * The OpenSSL pre-initialisation preloaded into each level's pkcs11proxyd (native/opensslPreinit.c):
 * where the build put it, and whether it may be loaded.
 *
 * Trust rule: the library runs inside the process that parses the cages' bytes, with the card, so
 * it is loaded only if root alone could have written it — the file and every folder above it
 * root's, none writable by its group or others. Anything else (missing, another owner, writable)
 * and the proxy starts without it, as before it existed: the library only makes a first call
 * faster, and is never worth failing the card for.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OPENSSL_PREINIT_NAME = 'opensslPreinit.so';

/**
 * Where the build writes it: out/supervisor, beside the bundles. Run from the bundle (here is
 * out/supervisor) or from the sources (here is supervisor/smartcard), two folders up and down into
 * out/supervisor is that same folder.
 */
export function builtOpensslPreinit(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'out', 'supervisor', OPENSSL_PREINIT_NAME);
}

export type PreinitCheck = { ok: true; path: string } | { ok: false; missing: boolean; reason: string };

/**
 * Whether `file` may be preloaded: its real path (the one handed to the loader, so no link swapped
 * later changes what is loaded), a regular file, root's, not writable by group or others, in
 * folders that are all root's and writable by root only, a sticky one excepted (whoever could
 * write one of them could replace the file between this check and the loader's open).
 */
export function checkOpensslPreinit(file: string): PreinitCheck {
  let path: string;
  try {
    path = realpathSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, missing: code === 'ENOENT', reason: `${file}: ${code ?? (err as Error).message}` };
  }
  // LD_PRELOAD splits its list at spaces and colons.
  if (/[\s:]/.test(path)) return { ok: false, missing: false, reason: `${path} holds a space or a colon` };
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return { ok: false, missing: false, reason: `${path} is not a file` };
    const problem = rootOnly(path, st);
    if (problem) return { ok: false, missing: false, reason: problem };
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const folderProblem = rootOnly(dir, lstatSync(dir));
      if (folderProblem) return { ok: false, missing: false, reason: folderProblem };
      if (dir === dirname(dir)) break;
    }
  } catch (err) {
    // Moved while looked at: not loaded.
    return { ok: false, missing: false, reason: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return { ok: true, path };
}

/**
 * Root's and writable by root only. A folder others may write in is accepted only with the sticky
 * bit (/tmp): there only an entry's owner may rename or remove it, and the entry below it is
 * checked to be root's in turn.
 */
function rootOnly(path: string, st: Stats): string | null {
  if (st.uid !== 0) return `${path} belongs to uid ${st.uid}, not root`;
  if (st.isDirectory() && (st.mode & 0o1000) !== 0) return null;
  if ((st.mode & 0o022) !== 0) return `${path} is writable by ${(st.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}
