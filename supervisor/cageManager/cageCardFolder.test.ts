/**
 * The card folder the manager makes for a level's cage (cageCardFolder.ts): the part's uid's, the
 * cage's group's, 0750. The part owns it, so it could plant a link in its place before the next
 * cage start: the link is refused, and what it points to keeps its owner and mode. (The attack was
 * not run against a version that follows links: chown through a link is what this machine's tests
 * must never do.)
 */
import { mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { cageCardFolder } from './cageCardFolder';

const PART = 51_300 + (process.pid % 50);
const CAGE = PART + 100;
const root = testRoot('cloison-cardfolder-');

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the card folder of a level\'s cage', () => {
  it('is the part\'s uid\'s, the cage\'s group\'s, 0750, bound read-only at /run/cloison-card', () => {
    const endpoint = cageCardFolder(join(root, 'run-card'), 'high', PART, CAGE, join(root, 'card-client'));
    const st = statSync(endpoint.socketDir);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: PART, gid: CAGE, mode: 0o750 });
    expect(endpoint.bwrapArgs.slice(0, 3)).toEqual(['--ro-bind', endpoint.socketDir, '/run/cloison-card']);
  });

  // The part cannot plant it (the parent is root's, 0755): the check guards against root's own mistakes.
  it('a link in its place is refused; the folder it points to keeps its owner and mode', () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    const cardDir = join(root, 'run-card2');
    mkdirSync(join(cardDir, 'high'), { recursive: true });
    symlinkSync(elsewhere, join(cardDir, 'high', 'socket'));
    expect(() => cageCardFolder(cardDir, 'high', PART, CAGE, join(root, 'card-client'))).toThrow(/a link in its place is not followed/);
    const st = statSync(elsewhere);
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 0, gid: 0, mode: 0o700 });
  });
});
