/**
 * Test tool: the checkout made reachable by the accounts the tests run parts as — the `cloison`
 * account and the throwaway accounts many tests make to act as it (createPamTestUser) — as an
 * installed Cloison is (/usr/lib/cloison, 0755). A checkout under a private folder (a CI's
 * `mktemp -d`, 0700) would refuse them every file. Each folder from the checkout up to / gains
 * search permission for others where it lacks it — search only, not listing. (npm start opens
 * nothing: it runs the part from a root-owned copy, scripts/partCode.mjs.)
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.url, not __dirname: the end-to-end runner loads this as an ES module.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function checkoutReachableByCloison(): void {
  if (process.getuid?.() !== 0) return;
  for (let folder = REPO; ; folder = dirname(folder)) {
    const mode = statSync(folder).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(folder, mode | 0o001);
    if (dirname(folder) === folder) return;
  }
}
