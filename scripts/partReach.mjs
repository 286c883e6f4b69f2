// npm start's split (the default): the cage manager (root) starts the supervisor as its `cloison`
// part, which runs this checkout's bundles and serves its renderer as that account. An installed
// Cloison is in /usr/lib/cloison (0755); a checkout under a private folder (a home made 0700,
// /root) refuses it every file. Each folder from the checkout up to / gains
// search permission for others where it lacks it — search only, never listing, nothing else — and
// each one changed is named to the user, with how to take it back (--single needs none of it).
import { chmodSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The folders from `checkout` up to / that others cannot search: what the part would be refused. */
export function foldersClosedToPart(checkout) {
  const closed = [];
  for (let folder = resolve(checkout); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) closed.push(folder);
    if (dirname(folder) === folder) return closed;
  }
}

/** Opens each of them to search by others (o+x), as root; returns the folders changed. */
export function openCheckoutToPart(checkout) {
  const closed = foldersClosedToPart(checkout);
  for (const folder of closed) chmodSync(folder, (statSync(folder).mode & 0o7777) | 0o001);
  return closed;
}
