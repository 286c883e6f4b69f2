/**
 * Attack (#29 review) on npm start's opening of the checkout to the cloison part (partReach.mjs).
 * 'hole: mask' — a private folder above the checkout keeps a named ACL entry an administrator
 * disabled with chmod (chmod 0700 on a folder with ACLs sets its mask to ---: the entry grants
 * nothing). setfacl --modify recalculates the mask by default (no -n): adding cloison's --x entry
 * makes the mask the union of every group-class entry, so the other account's old entry was in
 * force again — another local account listed and wrote the private folder after npm start (seen).
 * Now such a folder is not touched: npm start stops and names it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckoutToPart } from './partReach.mjs';
import { testRoot } from '../supervisor/testing/realCage';

/** Any other local account. */
const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...args], { encoding: 'utf8' });

describe('the checkout opened to the cloison part, above it a folder with a masked ACL entry', () => {
  it('a folder whose ACL holds another account\'s entry, disabled by the mask, is not touched: refused by name, the entry still grants nothing', () => {
    const root = testRoot('cloison-reachmask-');
    chmodSync(root, 0o711);
    const home = join(root, 'home');
    const checkout = join(home, 'cloison');
    mkdirSync(checkout, { recursive: true, mode: 0o755 });
    writeFileSync(join(home, 'private.txt'), 'secret\n', { mode: 0o600 });
    // Once shared with nobody, then closed by the administrator's chmod: the mask grants nothing.
    expect(spawnSync('setfacl', ['--modify', 'user:nobody:rwx', home]).status).toBe(0);
    chmodSync(home, 0o700);
    expect(asNobody(['ls', home]).status).not.toBe(0);

    expect(() => openCheckoutToPart(checkout)).toThrow(new RegExp(`pass through ${home} without widening its ACL's mask for user:nobody`));
    expect(asNobody(['ls', home]).status).not.toBe(0);
    expect(asNobody(['touch', join(home, 'planted')]).status).not.toBe(0);
  });
});
