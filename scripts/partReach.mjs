// npm start's split (the default): the cage manager (root) starts the supervisor as its `cloison`
// part, which runs this checkout's bundles and serves its renderer as that account. An installed
// Cloison is in /usr/lib/cloison (0755); a checkout under a private folder (a home made 0700,
// /root) refuses it every file. Each folder from the checkout up to / that the account cannot
// pass through gains an ACL entry giving the `cloison` account alone search permission — never
// listing, nobody else, the folder's mode untouched — and each one changed is named to the user
// with how to take it back (--single needs none of it).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const ACCOUNT = 'cloison';

/** The folder's ACL entries, as getfacl prints them (one per line), or [] where it cannot say. */
function aclOf(folder) {
  const r = spawnSync('getfacl', ['--absolute-names', '--omit-header', folder], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** Whether the folder's ACL already lets the account search it (getfacl's effective rights). */
function accountMaySearch(folder) {
  const entry = aclOf(folder).find((line) => line.startsWith(`user:${ACCOUNT}:`));
  if (!entry) return false;
  // "user:cloison:--x" or, under a narrower mask, "user:cloison:rwx	#effective:--x".
  const effective = entry.includes('#effective:') ? entry.split('#effective:')[1] : entry.split(':')[2];
  return (effective ?? '').trim().charAt(2) === 'x';
}

/** The folders from `checkout` up to / that others cannot search and no ACL opens to the part. */
export function foldersClosedToPart(checkout) {
  const closed = [];
  for (let folder = resolve(checkout); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0 && !accountMaySearch(folder)) closed.push(folder);
    if (dirname(folder) === folder) return closed;
  }
}

/**
 * Gives the cloison account search permission on each of them (setfacl, as root); returns the
 * folders changed. Throws, naming the folder, where the filesystem takes no ACL: the caller says so.
 */
export function openCheckoutToPart(checkout) {
  const closed = foldersClosedToPart(checkout);
  for (const folder of closed) {
    // Named entries of others' (user:X:, group:X:) are held back by the mask `chmod` set: adding ours
    // would widen the mask and give them back what the administrator took. Not touched: said instead.
    const others = aclOf(folder).filter((line) => /^(user|group):[^:]+:/.test(line) && !line.startsWith(`user:${ACCOUNT}:`));
    if (others.length > 0) throw new Error(`cannot let the ${ACCOUNT} account pass through ${folder} without widening its ACL's mask for ${others.map((l) => l.split(':').slice(0, 2).join(':')).join(', ')}`);
    const r = spawnSync('setfacl', ['--modify', `user:${ACCOUNT}:--x`, folder], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot let the ${ACCOUNT} account pass through ${folder}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return closed;
}
