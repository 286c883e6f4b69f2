/**
 * Attack (attack-2): any local account stops root's npm start. copyPartCode refuses to replace the
 * code folder while "a process runs from it", and judges that from /proc/<pid>/cmdline of every
 * process on the host: any argument beginning with `<run-dir>-code/`. Arguments are whatever a
 * process chose to be started with, and every account's are listed, so a second local user (here
 * `nobody`) who starts `sh -c 'sleep 3600; :' /run/cloison-code/x` keeps `sudo npm start` from starting at all,
 * for as long as it likes (and at every later start, since the folder's name is fixed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyPartCode, partCodeFolder } from './partCode.mjs';
import { removeTestRoots, testRoot } from '../supervisor/testing/testRoots';
import { waitFor } from '../supervisor/testing/waitFor';

const REPO = process.cwd();

afterAll(() => removeTestRoots());

describe('npm start\'s code copy, against another local account', () => {
  it('is not kept from being made by a process of another account that merely names it', async () => {
    if (!existsSync(join(REPO, 'out/supervisor/cloisonPart.js'))) throw new Error('npm run build first');
    const root = testRoot('cloison-codeblock-');
    chmodSync(root, 0o711);
    const runDir = join(root, 'r');
    // The other account's process: nothing of the copy's runs in it, it only names the folder.
    const squatter = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', '/bin/sh', '-c', 'sleep 3600; :', `${partCodeFolder(runDir)}/x`], { stdio: 'ignore', detached: true });
    try {
      await waitFor(() => existsSync(`/proc/${squatter.pid}/cmdline`) && readFileSync(`/proc/${squatter.pid}/cmdline`, 'utf8').includes(partCodeFolder(runDir)), 'the other account\'s process');
      let refusal: string | null = null;
      try {
        copyPartCode(REPO, runDir).remove();
      } catch (err) {
        refusal = (err as Error).message;
      }
      expect(refusal).toBeNull();
    } finally {
      process.kill(-squatter.pid!, 'SIGKILL');
    }
  });

  it('is made beside a run folder in /tmp where another account planted entries of its half-made copies\' name, which it leaves alone', () => {
    if (!existsSync(join(REPO, 'out/supervisor/cloisonPart.js'))) throw new Error('npm run build first');
    // /tmp itself is the copy's parent (sticky, everyone's): the other account may make names there.
    const runDir = join(tmpdir(), `cloison-plant-${process.pid}-${Date.now()}`);
    const code = partCodeFolder(runDir);
    const planted = `${code}.new-planted`;
    const link = `${code}.new-link`;
    const ours = testRoot('cloison-plant-target-');
    writeFileSync(join(ours, 'keep'), 'root\'s\n');
    const asNobody = (args: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...args], { encoding: 'utf8' });
    expect(asNobody(['mkdir', planted]).status).toBe(0);
    expect(asNobody(['ln', '-s', ours, link]).status).toBe(0);
    try {
      let refusal: string | null = null;
      try {
        copyPartCode(REPO, runDir).remove();
      } catch (err) {
        refusal = (err as Error).message;
      }
      expect(refusal).toBeNull();
      // Not ours: neither removed nor followed.
      expect(lstatSync(planted).isDirectory()).toBe(true);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(ours, 'keep'), 'utf8')).toBe('root\'s\n');
    } finally {
      for (const path of [planted, link, code]) rmSync(path, { recursive: true, force: true });
    }
  });
});
