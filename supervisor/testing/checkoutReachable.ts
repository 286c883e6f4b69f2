/**
 * Test tool: the checkout made reachable by the `cloison` account, as an installed Cloison is
 * (/usr/lib/cloison, 0755). The split supervisor's part runs the checkout's bundles and serves its
 * renderer as `cloison`; a checkout under a private folder (a CI's `mktemp -d`, 0700) would refuse
 * it every file. npm start's own way (scripts/partReach.mjs): an ACL entry giving that account
 * alone search permission on each folder it cannot pass through.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckoutToPart } from '../../scripts/partReach.mjs';

// import.meta.url, not __dirname: the end-to-end runner loads this as an ES module.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function checkoutReachableByCloison(): void {
  if (process.getuid?.() !== 0) return;
  openCheckoutToPart(REPO);
}
