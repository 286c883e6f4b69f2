/**
 * Whether an unprivileged account could read a file the policy names, judged by root from the
 * mode bits (owner, group, others) of the file and of every folder above it: the cage manager,
 * which reads the policy as root, refuses at its own load a recipient key its `cloison` part could
 * not read, with the policy's place, rather than start a part that would refuse it. Access control
 * lists are not read: a site that grants through them alone is refused here (grant by mode bits).
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface Reader {
  name: string;
  uid: number;
  gid: number;
}

/** What keeps `reader` from reading `file`, or null. */
export function unreadableBy(file: string, reader: Reader): string | null {
  if (reader.uid === 0) return null;
  const path = resolve(file);
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  const lacks = (at: string, bit: 4 | 1): string | null => {
    let st;
    try {
      st = statSync(at);
    } catch (err) {
      return `${at}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
    const shift = st.uid === reader.uid ? 6 : st.gid === reader.gid ? 3 : 0;
    return (st.mode >> shift) & bit ? null : `${at} (uid ${st.uid}, gid ${st.gid}, mode ${(st.mode & 0o7777).toString(8)}) is not ${bit === 1 ? 'passable' : 'readable'} by ${reader.name}`;
  };
  for (const dir of folders) {
    const problem = lacks(dir, 1);
    if (problem) return problem;
  }
  return lacks(path, 4);
}
