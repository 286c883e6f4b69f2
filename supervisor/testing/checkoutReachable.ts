/**
 * Test tool: the checkout made reachable by the `cloison` account, as an installed Cloison is
 * (/usr/lib/cloison, 0755). The split supervisor's part runs the checkout's bundles and serves its
 * renderer as `cloison`; a checkout under a private folder (a CI's `mktemp -d`, 0700) would refuse
 * it every file. As npm start does it (scripts/partReach.mjs, which supervisor/ may not import): an
 * ACL entry giving that account alone search permission on each folder others cannot search.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.url, not __dirname: the end-to-end runner loads this as an ES module.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function checkoutReachableByCloison(): void {
  if (process.getuid?.() !== 0) return;
  for (let folder = REPO; ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) execFileSync('setfacl', ['--modify', 'user:cloison:--x', folder]);
    if (dirname(folder) === folder) return;
  }
}
