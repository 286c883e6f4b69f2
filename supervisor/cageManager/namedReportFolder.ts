/**
 * An admin-named training report folder (main.ts's --report-dir), checked before root makes it and
 * gives it to the `cloison` part. Root follows links both when it looks whether the folder exists
 * and when it makes the missing folders above it: below a folder the part controls, the part could
 * plant a link so that root makes a folder elsewhere and hands it over. So every folder above it
 * must be root's, not a link, and writable by nobody else (or sticky, as /tmp, above a folder that
 * is there: no one else may then move it); the folder itself, if there, a folder.
 */
import { lstatSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Whether the folder must be made (missing); false if a folder is there already (left as it is). Throws if unsafe. */
export function reportFolderToMake(path: string): boolean {
  const full = resolve(path);
  let missing = false;
  const here = lstatOrNull(full);
  if (here) {
    if (!here.isDirectory()) throw new Error(`the report folder ${full} is not a folder (a link, or a file)`);
  } else missing = true;
  let below = here !== null;
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    const st = lstatOrNull(dir);
    if (st) {
      if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`the report folder ${full} is below ${dir}, which is not a folder (a link, or a file)`);
      if (st.uid !== 0) throw new Error(`the report folder ${full} is below ${dir}, which is not root's: its owner could move it elsewhere`);
      if ((st.mode & 0o022) !== 0 && !((st.mode & 0o1000) !== 0 && below)) throw new Error(`the report folder ${full} is below ${dir}, which others may write in`);
    }
    below = st !== null;
    if (dir === dirname(dir)) break;
  }
  return missing;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
