// Before it ran its part from a root-owned copy (partCode.mjs), npm start let the `cloison` account
// pass through each private folder above the checkout with an ACL entry (user:cloison:--x), left
// there after it stopped (#29 review: that search opened everything world-readable under a private
// home to the part). Such an entry, exactly that one, is removed at the next start — without
// recomputing the ACL's mask (setfacl -n): the removal never widens what the folder's group or its
// other named entries get. Any other entry of cloison's, an administrator's own, is left alone.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';

const OLD_ENTRY = 'user:cloison:--x';

/** Whether the folder's ACL holds the old npm start's entry (as getfacl prints it, effective rights aside). */
function holdsOldEntry(folder) {
  const r = spawnSync('getfacl', ['--absolute-names', '--omit-header', folder], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.split('\n').some((line) => line.split('\t')[0].trim() === OLD_ENTRY);
}

/** Removes it from each folder from `checkout` up to / that holds it; returns the folders changed. */
export function removeOldPartEntries(checkout) {
  const changed = [];
  for (let folder = resolve(checkout); ; folder = dirname(folder)) {
    if (holdsOldEntry(folder) && spawnSync('setfacl', ['-n', '-x', 'user:cloison', folder], { stdio: 'ignore' }).status === 0) changed.push(folder);
    if (dirname(folder) === folder) return changed;
  }
}
