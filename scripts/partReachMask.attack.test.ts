/**
 * Attack (#29 review) on npm start's opening of the checkout to the cloison part (partReach.mjs).
 * 'hole: mask' — a private folder above the checkout keeps a named ACL entry an administrator
 * disabled with chmod (chmod 0700 on a folder with ACLs sets its mask to ---: the entry grants
 * nothing). setfacl --modify recalculates the mask by default (no -n): adding cloison's --x entry
 * makes the mask the union of every group-class entry, so the other account's old entry is in
 * force again — another local account can list and write the private folder after npm start.
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
  it('hole: mask — another account\'s entry the mask had disabled is in force again after npm start', () => {
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
    expect(asNobody(['touch', join(home, 'planted')]).status).not.toBe(0);

    expect(openCheckoutToPart(checkout)).toEqual([home]);
    // The hole: nobody lists the private folder and writes in it.
    const listed = asNobody(['ls', home]);
    expect(listed.stdout).toContain('private.txt');
    expect(asNobody(['touch', join(home, 'planted')]).status).toBe(0);
    console.log(spawnSync('getfacl', ['--omit-header', home], { encoding: 'utf8' }).stdout);
  });
});
