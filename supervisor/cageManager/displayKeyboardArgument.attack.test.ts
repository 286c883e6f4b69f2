/**
 * The display's keyboard layout reaches the cages through the cage manager's --display-keyboard
 * (npm start's, issue #26), and from there every cage's `setxkbmap`. Whoever starts the manager
 * with a value that is not an XKB name — an option smuggled in ("fr -option ctrl:swap"), a path
 * ("../../tmp/x"), a third field — is refused before the manager makes a folder or starts
 * anything, saying why; the part's start schema refuses the same (XKB_NAME) should a start come
 * from elsewhere. Against the code before #26 the option did not exist (refused as unknown).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MANAGER = join(REPO, 'out/supervisor/cageManager.js');

afterAll(() => removeTestRoots());

describe("the cage manager's --display-keyboard", () => {
  for (const hostile of ['fr -option ctrl:swap', '../../tmp/x', 'fr:bepo:extra', 'fr,us', 'FR', 'fr:-option']) {
    it(`refuses ${JSON.stringify(hostile)} before it makes a folder or starts anything`, () => {
      if (!existsSync(MANAGER)) throw new Error('out/supervisor/cageManager.js is missing: npm run build');
      const root = testRoot('cloison-hostfit12-kbdarg-');
      const r = spawnSync(process.execPath, [MANAGER, '--no-part', '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--display-keyboard', hostile], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('--display-keyboard: not an XKB layout');
      expect(existsSync(join(root, 'state'))).toBe(false);
      expect(existsSync(join(root, 'run'))).toBe(false);
    });
  }
});
