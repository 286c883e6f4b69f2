/**
 * Attack (a process of a cage's uid still alive when the cage manager mounts that cage's home —
 * one that outlived its cage on a host without the control group's reach, as the card proxy's and
 * the browser part's race tests assume): a home from before images is a plain folder the cage's uid
 * owns. Root renamed it aside, copied it into the new image, then removed it with Node's recursive
 * rmSync, which lists a folder and unlinks each name by path: the cage's process, working from
 * inside the folder, swapped a subfolder for a link to a folder only root may enter once root's
 * first unlink there said root had its list, and root's unlinks landed there (seen: the victim
 * deleted). Now the copy is made and the folder emptied as the cage's uid (homeMigration.ts).
 *
 * The victim: a file of root's in a 0700 folder of root's, its name in the attacker's subfolder well
 * after the first. The control: the attacker did swap while root's removal ran, and the home was
 * migrated (the copy holds the attacker's files).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { FOLDER_SWAP_ATTACKER } from '../testing/folderSwapAttacker';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { mountHome, unmount } from './cageMounts';

const CAGE_UID = 50_500 + (process.pid % 100);
const root = process.getuid?.() === 0;

describe.skipIf(!root)("a live process of a cage's uid against root's migration of its old home", () => {
  let attacker: ChildProcess | null = null;
  let home = '';
  afterAll(async () => {
    if (attacker?.pid && attacker.exitCode === null && attacker.signalCode === null) process.kill(attacker.pid, 'SIGKILL');
    if (home) await unmount(home).catch(() => undefined);
    removeTestRoots();
  });

  it('cannot make root delete a file in a folder only root may enter', async () => {
    const base = testRoot('cloison-hmr-');
    chmodSync(base, 0o711); // searchable: the attacker reads its script
    const victimDir = join(base, 'victim');
    mkdirSync(victimDir, { mode: 0o700 });
    const precious = join(victimDir, 'precious');
    writeFileSync(precious, 'root only\n', { mode: 0o600 });
    // The level's folder is root's; the home in it, from before images, the cage's.
    const levelDir = join(base, 'low');
    mkdirSync(levelDir, { mode: 0o755 });
    home = join(levelDir, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, CAGE_UID, CAGE_UID);
    writeFileSync(join(base, 'attacker.mjs'), FOLDER_SWAP_ATTACKER, { mode: 0o644 });

    attacker = spawn('setpriv', ['--reuid', String(CAGE_UID), '--regid', String(CAGE_UID), '--clear-groups', '--no-new-privs', '--', process.execPath, join(base, 'attacker.mjs'), victimDir, 'precious'], { cwd: home, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: attacker.stdout! }).on('line', (line) => lines.push(line));
    await waitFor(() => lines.includes('ready') || lines.includes('unlucky'), 'the attacker to be ready', 60_000);
    expect(lines).not.toContain('unlucky');

    const mounted = await mountHome({ home, homeImage: join(levelDir, 'home.img'), scratch: join(levelDir, 'scratch') }, CAGE_UID, 256 * 2 ** 20).then( // inodes for the 20,000 names
      () => 'mounted',
      (err: Error) => `not mounted: ${err.message}`,
    );
    await waitFor(() => lines.includes('swapped'), 'the attacker to swap', 10_000).catch(() => undefined);
    const left = readdirSync(levelDir);
    console.log(`${mounted}; attacker: ${lines.join(', ')}; level folder: ${left.join(', ')}; precious ${existsSync(precious) ? 'still there' : 'DELETED by root'}`);

    expect(lines).toContain('swapped');
    expect(mounted).toBe('mounted');
    expect(existsSync(join(home, 'd', 'f19999'))).toBe(true); // migrated: the copy was made before the removal
    expect(existsSync(precious)).toBe(true);
  }, 180_000);
});
