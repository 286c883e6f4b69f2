/**
 * npm start's split runs this checkout's bundles as `cloison`: a checkout under a private folder (a
 * home made 0700) is opened to search by the cloison account alone (an ACL entry) — search, not
 * listing — and each folder changed is named; before, the cloison account is refused the bundle,
 * after, it reads it and still cannot list the private folder, and another account still cannot
 * pass through it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldersClosedToPart, openCheckoutToPart } from './partReach.mjs';
import { testRoot } from '../supervisor/testing/realCage';

/** What the cloison account gets when it runs `args` (setup.sh makes it). */
const asCloison = (args: string[]) => spawnSync('setpriv', ['--reuid=cloison', '--regid=cloison', '--init-groups', '--', ...args], { encoding: 'utf8' });
/** Any other local account. */
const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...args], { encoding: 'utf8' });

describe('the checkout opened to the cloison part', () => {
  it('a checkout in a 0700 home: cloison is refused its bundle, then reads it once the home is opened to search, and still cannot list the home', () => {
    const root = testRoot('cloison-reach-');
    chmodSync(root, 0o711);
    const home = join(root, 'home');
    const checkout = join(home, 'cloison');
    mkdirSync(join(checkout, 'out'), { recursive: true, mode: 0o755 });
    chmodSync(home, 0o700);
    writeFileSync(join(checkout, 'out', 'bundle.js'), '// the part\n', { mode: 0o644 });
    expect(asCloison(['cat', join(checkout, 'out', 'bundle.js')]).status).not.toBe(0);
    expect(foldersClosedToPart(checkout)).toEqual([home]);

    expect(openCheckoutToPart(checkout)).toEqual([home]);
    // The folder's mode is untouched for everyone else: nobody but cloison passes through it.
    expect(statSync(home).mode & 0o007).toBe(0);
    expect(asCloison(['cat', join(checkout, 'out', 'bundle.js')]).stdout).toBe('// the part\n');
    expect(asCloison(['ls', home]).status).not.toBe(0);
    expect(asNobody(['cat', join(checkout, 'out', 'bundle.js')]).status).not.toBe(0);
    // Nothing more to open: a second start says nothing.
    expect(openCheckoutToPart(checkout)).toEqual([]);
  });
});
