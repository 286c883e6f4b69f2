/**
 * Attack (a process of the browser part's account, `cloison`, alive while root starts the browser
 * part again — root's single mode, where the supervisor itself is root): at each start root renames
 * the part's old folder aside and removes it (browserPartSpawn.ts's freshPartDir). That folder is
 * the part's account's. Node 20's recursive rmSync walks it by path — a readdir, then an unlink per
 * name listed — so the account, working from inside the folder (its working directory follows the
 * rename), waits for root's first unlink in a subfolder, swaps the subfolder for a link to a folder
 * only root may enter, and root's unlinks of the names it listed land there.
 *
 * The victim: a file of root's in a 0700 folder of root's, its name listed in the attacker's
 * subfolder well after the first. The control: the attacker did swap while root's removal ran.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { FOLDER_SWAP_ATTACKER } from '../testing/folderSwapAttacker';
import { waitFor } from '../testing/waitFor';
import { browserPartSpawn } from './browserPartSpawn';

const PART_UID = 52_600 + (process.pid % 100);
const root = process.getuid?.() === 0;


describe.skipIf(!root)("the browser part's account against root's removal of its old folder", () => {
  let attacker: ChildProcess | null = null;
  afterAll(() => {
    if (attacker?.pid && attacker.exitCode === null && attacker.signalCode === null) process.kill(attacker.pid, 'SIGKILL');
  });

  it('cannot make root delete a file in a folder only root may enter', async () => {
    const base = testRoot('cloison-bpr-');
    // Searchable, so the attacker reads its script; the run folder and the victim's stay root's alone.
    chmodSync(base, 0o711);
    const runDir = join(base, 'run');
    mkdirSync(runDir, { mode: 0o700 });
    const victimDir = join(base, 'victim');
    mkdirSync(victimDir, { mode: 0o700 });
    const precious = join(victimDir, 'precious');
    writeFileSync(precious, 'root only\n', { mode: 0o600 });
    // The part's old folder, its account's, as the part left it.
    const old = join(runDir, 'browser-part');
    mkdirSync(old, { mode: 0o700 });
    chownSync(old, PART_UID, PART_UID);
    writeFileSync(join(base, 'attacker.mjs'), FOLDER_SWAP_ATTACKER, { mode: 0o644 });

    // Started by root inside the folder: it keeps it as its working directory, wherever it is moved.
    attacker = spawn('setpriv', ['--reuid', String(PART_UID), '--regid', String(PART_UID), '--clear-groups', '--no-new-privs', '--', process.execPath, join(base, 'attacker.mjs'), victimDir, 'precious'], { cwd: old, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    createInterface({ input: attacker.stdout! }).on('line', (line) => lines.push(line));
    await waitFor(() => lines.includes('ready') || lines.includes('unlucky'), 'the attacker to be ready', 60_000);
    expect(lines).not.toContain('unlucky');

    const logged: string[] = [];
    browserPartSpawn({ runDir, rendererDir: null, shell: false, log: (msg, fields) => void logged.push(`${msg} ${JSON.stringify(fields ?? {})}`) }).start({ uid: PART_UID, gid: PART_UID });
    await waitFor(() => lines.includes('swapped'), 'the attacker to swap', 10_000).catch(() => undefined);
    // The removal is over when nothing but the new folder is left, or when it said it could not finish.
    await waitFor(() => readdirSync(runDir).length === 1 || logged.some((l) => l.includes('old folder not removed')), 'the old folder removed', 60_000).catch(() => undefined);
    console.log(`attacker: ${lines.join(', ')}; run folder: ${readdirSync(runDir).join(', ')}; logged: ${logged.join(' / ') || 'nothing'}; precious ${existsSync(precious) ? 'still there' : 'DELETED by root'}`);

    expect(lines).toContain('swapped');
    expect(existsSync(precious)).toBe(true);
    expect(readdirSync(runDir)).toEqual(['browser-part']);
    attacker.kill('SIGKILL');
    execFileSync('rm', ['-rf', '--one-file-system', base]);
  }, 120_000);
});
