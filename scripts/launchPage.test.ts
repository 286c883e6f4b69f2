/**
 * The waiting page npm start writes into the shell user's Chromium profile, as root, while that
 * user's processes run there (issue #27): a symbolic link planted at the page's temporary name must
 * not make root overwrite, nor hand over, the file it points to. The page still turns into the
 * redirect, owned by that user.
 */
import { lstatSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLaunchPage } from './launchPage.mjs';

const NOBODY = { uid: 65534, gid: 65534 };

describe('the launch page in the shell user\'s folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloison-launch-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a link planted at its temporary name neither overwrites nor gives away the file it points to', () => {
    const precious = join(root, 'root-only.conf');
    writeFileSync(precious, 'root: keep\n', { mode: 0o600 });
    const profile = mkdtempSync(join(root, 'profile-'));
    const page = createLaunchPage(profile, NOBODY);
    chownSync(profile, NOBODY.uid, NOBODY.gid); // as npm start does: the folder is the user's now
    // What the user's own process (Chromium, or anything running as them) can do in their folder.
    for (const name of ['launch.next', ...readdirSync(profile).filter((n) => n !== 'launch.html')]) {
      rmSync(join(profile, name), { force: true });
      symlinkSync(precious, join(profile, name));
    }
    try {
      page.go('http://127.0.0.1:1/#launch=secret');
    } catch {
      /* refusing is as good as writing elsewhere */
    }
    expect(readFileSync(precious, 'utf8')).toBe('root: keep\n');
    expect(statSync(precious)).toMatchObject({ uid: 0, gid: 0 });
    expect(lstatSync(page.path).isFile()).toBe(true);
    expect(readFileSync(page.path, 'utf8')).toContain('url=http://127.0.0.1:1/#launch=secret');
    expect(statSync(page.path)).toMatchObject({ uid: NOBODY.uid, mode: 0o100600 });
  });
});
