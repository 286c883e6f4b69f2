/**
 * Files the policy names and only root may change (a WireGuard configuration, a diode recipient's
 * key): whoever could replace one would decide where a level's traffic or its files go.
 */
import { statSync, type Stats } from 'node:fs';

/**
 * What is wrong with `file`, or null: it must be a file, root's, with none of `forbiddenMode`'s
 * bits; `notRootOnly` words the refusal for that file (its owner and mode, octal).
 */
export function rootFileProblem(file: string, what: string, forbiddenMode: number, notRootOnly: (uid: number, mode: string) => string): string | null {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    return `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (!st.isFile()) return `${file} is not a file`;
  if (st.uid !== 0 || (st.mode & forbiddenMode) !== 0) return notRootOnly(st.uid, (st.mode & 0o777).toString(8));
  return null;
}
