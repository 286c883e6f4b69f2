/**
 * The manager's policy file read only once it has settled (#29, an attack review): an administrator
 * saving in place (tee, scp, rsync --inplace) leaves a shorter file for a moment, and a cut policy
 * often still loads — usb.filesystems falling back to all eight, a level list missing its last
 * levels. The part can watch the file (it is world-readable) and ask `policy.reload` at that moment,
 * so the manager takes the text only when the file is the same (inode, size, mtime, ctime) before
 * and after its read, and was last written at least SETTLED_MS ago; otherwise it is "being written".
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MAX_POLICY_BYTES, PolicyError } from '../policy/policyLoader';

/** How long a file must have been left alone: a save in progress writes far more often. */
export const SETTLED_MS = 1000;
/** Past this, an mtime ahead of the clock is another machine's time, not a write under way. */
const FUTURE_MS = 5000;

export type SettledText = { settled: true; text: string } | { settled: false; why: string };

export function readSettledPolicyText(file: string, now: () => number = Date.now): SettledText {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new PolicyError([{ file, line: 0, column: 0, path: '', message: `cannot read policy: ${(err as Error).message}` }]);
  }
  try {
    const before = fstatSync(fd);
    if (before.size > MAX_POLICY_BYTES) throw new PolicyError([{ file, line: 1, column: 1, path: '', message: `file is ${before.size} bytes; a policy may be at most ${MAX_POLICY_BYTES}` }]);
    // One byte more than it said: a file growing while read is seen as such.
    const buf = Buffer.alloc(before.size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, got)) > 0; ) got += n;
    const after = fstatSync(fd);
    if (got !== before.size || !sameFile(before, after)) return { settled: false, why: 'it changed while it was read' };
    // A write sets mtime to now: one well ahead of the clock (copied with its time from a machine
    // whose clock is ahead) was not written since, and must not hold the file back for good.
    const age = now() - after.mtimeMs;
    if (age > -FUTURE_MS && age < SETTLED_MS) return { settled: false, why: `it was written ${Math.max(0, Math.round(age))} ms ago` };
    return { settled: true, text: buf.subarray(0, got).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
