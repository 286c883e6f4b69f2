// Before it ran its part from a root-owned copy (partCode.mjs), npm start let the `cloison` account
// pass through each private folder above the checkout with an ACL entry (user:cloison:--x), left
// there after it stopped (#29 review: that search opened everything world-readable under a private
// home to the part). Such an entry, exactly that one, is removed at the next start — without
// recomputing the ACL's mask (setfacl -n): the removal never widens what the folder's group or its
// other named entries get. Any other entry of cloison's, an administrator's own, is left alone.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';

const OLD_ENTRY = 'user:cloison:--x';

/** Whether an ACL, as getfacl prints it, holds the old npm start's entry (effective rights aside). */
function holdsOldEntry(acl) {
  return acl.split('\n').some((line) => line.split('\t')[0].trim() === OLD_ENTRY);
}

/**
 * Each folder's ACL text, in the folders' order: one getfacl for them all (this runs before every
 * start's manager, one process per folder above the checkout was its serial cost). Its blocks, one
 * per folder and in their order, are told apart by a blank line; a count that does not match (a
 * folder it could not read) is asked again folder by folder, a folder with no answer holding nothing.
 */
function aclsOf(folders) {
  const one = (args) => spawnSync('getfacl', ['--absolute-names', '--omit-header', ...args], { encoding: 'utf8' });
  const all = one(folders);
  const blocks = all.status === 0 ? all.stdout.split(/\n\n/).filter((b) => b.trim() !== '') : [];
  if (blocks.length === folders.length) return blocks;
  return folders.map((folder) => {
    const r = one([folder]);
    return r.status === 0 ? r.stdout : '';
  });
}

/** Removes it from each folder from `checkout` up to / that holds it; returns the folders changed. */
export function removeOldPartEntries(checkout) {
  const folders = [];
  for (let folder = resolve(checkout); ; folder = dirname(folder)) {
    folders.push(folder);
    if (dirname(folder) === folder) break;
  }
  const acls = aclsOf(folders);
  return folders.filter((folder, i) => holdsOldEntry(acls[i]) && spawnSync('setfacl', ['-n', '-x', 'user:cloison', folder], { stdio: 'ignore' }).status === 0);
}
