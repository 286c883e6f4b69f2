/**
 * Attack (attack-2): a second local user reads the training scenario the administrator kept in a
 * private home. npm start gives the cloison part a file it cannot reach where it is (a scenario in
 * a 0700 home, itself 0644) as a copy beside the part's code (partCode.mjs's givenFileForPart):
 * `<run-dir>-code/given/`, 0755, the copy 0644. Only the cloison account needed it; every account
 * of the host can now read it, for as long as npm start runs (the #29 review's complaint about the
 * old ACL entry — files behind a private home opened — made worse: opened to all, not to cloison).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPartCode, givenFileForPart } from './partCode.mjs';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';

const REPO = process.cwd();
const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...args], { encoding: 'utf8' });

afterAll(() => removeTestRoots());

describe('a file npm start gives the cloison part', () => {
  it('is readable by the cloison account, not by every other account', () => {
    if (!existsSync(join(REPO, 'out/supervisor/cloisonPart.js'))) throw new Error('npm run build first');
    const root = testRoot('cloison-given-');
    chmodSync(root, 0o711);
    const home = join(root, 'home');
    mkdirSync(home, { mode: 0o700 });
    const scenario = join(home, 'exam.yaml');
    writeFileSync(scenario, 'version: 1\n# the answers\n', { mode: 0o644 });
    const code = copyPartCode(REPO, join(root, 'r'));
    try {
      // Where it is, no account but its owner's (and root) reaches it.
      expect(asNobody(['cat', scenario]).status).not.toBe(0);
      const given = givenFileForPart(code.folder, scenario, 'training');
      expect(given).not.toBeNull();
      expect(spawnSync('setpriv', ['--reuid=cloison', '--regid=cloison', '--init-groups', '--', 'cat', given!], { encoding: 'utf8' }).stdout).toContain('the answers');
      expect(asNobody(['cat', given!]).stdout).not.toContain('the answers');
    } finally {
      code.remove();
    }
  });
});
