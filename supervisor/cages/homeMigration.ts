/**
 * A home from before images (a plain folder, the cage's uid's) moved into the cage's new image.
 *
 * That folder is a tree the cage's uid may still change: a process of it that outlived its cage
 * (on a host without the control group's reach) works from inside it. Root walking it by path —
 * Node's recursive rmSync, or `cp -a` reading it — follows whatever link that process swaps in
 * mid-walk: root's unlinks land in a root-only folder, root's reads copy root-only files into the
 * home (homeMigrateRace.attack.test.ts). So root walks none of it: the copy is made as the cage's
 * uid, which reads only what it may read anyway, and the old folder is emptied as its owner
 * (system/ownedFolders.ts). The home's files are the cage's thereafter, whoever owned them before.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, openSync } from 'node:fs';
import { requireBinary } from '../system/binaries';
import { removeOwnedFolders } from '../system/ownedFolders';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';

const COPY_TIMEOUT_MS = 10 * 60_000;

/** Copies `oldHome`'s content into the mounted `home` as `uid`, then removes `oldHome`. */
export async function migrateOldHome(oldHome: string, home: string, uid: number): Promise<void> {
  await copyAsUid(oldHome, home, uid);
  // What the uid could not delete (a root-owned folder left in its old home) stays set aside
  // beside the image under a name of its own (removeOwnedFolders returns it; nothing here has a
  // journal to say it in): the copy is made, the cage starts, and nothing of it is read again.
  await removeOwnedFolders([oldHome]).catch(() => undefined);
}

/**
 * `cp -a` as `uid`, started by root inside the old folder (its parent is root's: nothing there can
 * be swapped), the home reached through an inherited descriptor: the uid needs no search right on
 * the folders above either (the state folder is root's alone).
 */
async function copyAsUid(from: string, home: string, uid: number): Promise<void> {
  const target = openSync(home, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', requireBinary('cp'), '-a', '--no-preserve=ownership', '--', './.', '/proc/self/fd/3/'];
    const child = spawn(requireBinary('setpriv'), argv, { cwd: from, timeout: COPY_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe', target] });
    refuseDescriptorsOnStdio(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => void (stderr = `${stderr}${chunk.toString()}`.slice(-2000)));
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`the home from before images could not be copied into its image (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(0, 3).join('; ')}`);
  } finally {
    closeSync(target);
  }
}
