/**
 * An older npm start left an ACL entry giving `cloison` search on the private home above its
 * checkout (#29 review: the part then read everything world-readable under the home). The next
 * start removes exactly that entry, without recomputing the mask: the home's group, held back by
 * the mask, gets nothing back (setfacl would otherwise make the mask rwx from `group::rwx`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOldPartEntries } from './oldPartReach.mjs';
import { createPamTestUser, createTestGroup } from '../supervisor/testing/pamTestUser';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';

const asCloison = (args: string[]) => spawnSync('setpriv', ['--reuid=cloison', '--regid=cloison', '--init-groups', '--', ...args], { encoding: 'utf8' });
const asUser = (name: string, args: string[]) => spawnSync('setpriv', [`--reuid=${name}`, `--regid=${name}`, '--init-groups', '--', ...args], { encoding: 'utf8' });
const aclOf = (folder: string) => spawnSync('getfacl', ['--absolute-names', '--omit-header', folder], { encoding: 'utf8' }).stdout;

afterAll(() => removeTestRoots());

describe('the entry an older npm start left on a private home', () => {
  it('is removed at the next start: cloison reads nothing of the home any more, the home\'s group gets nothing back', () => {
    const member = createPamTestUser();
    const group = createTestGroup([member.user]);
    try {
      const root = testRoot('cloison-oldreach-');
      chmodSync(root, 0o711);
      const home = join(root, 'home');
      const checkout = join(home, 'cloison');
      mkdirSync(checkout, { recursive: true, mode: 0o755 });
      mkdirSync(join(home, 'Documents'), { mode: 0o755 });
      chmodSync(join(home, 'Documents'), 0o755);
      writeFileSync(join(home, 'Documents', 'notes.txt'), 'left world-readable\n', { mode: 0o644 });
      chownSync(home, 0, group.gid);
      // The older npm start's entry, on a home whose group is held to search by the mask.
      expect(spawnSync('setfacl', ['--modify', 'group::rwx,user:cloison:--x,mask::--x,other::---', home]).status).toBe(0);
      expect(asCloison(['cat', join(home, 'Documents', 'notes.txt')]).stdout).toBe('left world-readable\n');
      expect(asUser(member.user, ['ls', home]).status).not.toBe(0);

      expect(removeOldPartEntries(checkout)).toEqual([home]);
      expect(aclOf(home)).not.toContain('user:cloison:');
      expect(aclOf(home)).toContain('mask::--x');
      expect(asCloison(['cat', join(home, 'Documents', 'notes.txt')]).status).not.toBe(0);
      expect(asUser(member.user, ['ls', home]).status).not.toBe(0);
      expect(asUser(member.user, ['touch', join(home, 'planted')]).status).not.toBe(0);
      // Nothing more to remove: a second start says nothing.
      expect(removeOldPartEntries(checkout)).toEqual([]);
    } finally {
      group.remove();
      member.remove();
    }
  });

  it('an entry of cloison\'s other than the old one (an administrator\'s own) is left alone', () => {
    const root = testRoot('cloison-oldreach-');
    const folder = join(root, 'shared');
    mkdirSync(folder, { mode: 0o700 });
    expect(spawnSync('setfacl', ['--modify', 'user:cloison:r-x', folder]).status).toBe(0);
    expect(removeOldPartEntries(folder)).toEqual([]);
    expect(aclOf(folder)).toContain('user:cloison:r-x');
  });
});
