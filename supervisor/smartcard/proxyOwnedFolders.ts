/**
 * Removing a card proxy's own folders (`proxy/`, `netplex/`: chowned to the level's proxy uid) at a
 * new start, without root ever walking a tree that uid may change. Root's recursive removal reads
 * a folder's names and then unlinks each by path: a process of the proxy uid still alive (a worker
 * a cage's bytes took over, that left the control group's reach on a host without one) swaps a
 * subfolder for a link between the two, and root's unlinks land wherever the link points.
 *
 * So root only renames each folder aside (within the level's folder, root's 0755: the proxy uid
 * can neither rename it back nor put a link in its place), and its content is deleted by `find
 * -delete` run as the proxy uid itself: whatever it is made to follow, it deletes only what that
 * uid may delete anyway. Root then removes the emptied folder with rmdir, which follows nothing.
 */
import { execFile } from 'node:child_process';
import { lstatSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { requireBinary } from '../system/binaries';
import { refuseDescriptorsOnStdio } from '../system/refusePassedDescriptors';

const REMOVAL_TIMEOUT_MS = 10_000;
/** find's passes: a pass a live process of the uid raced (a link made mid-walk) leaves some behind. */
const PASSES = 3;

/** The name a folder is renamed to while its content is deleted (left there if it could not be). */
export function asideOf(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.removed`);
}

/**
 * Removes each folder (absent: nothing to do) and whatever an earlier removal left aside; throws
 * when one could not be emptied (a process of the uid still writing there).
 */
export async function removeProxyOwnedFolders(folders: string[], uid: number): Promise<void> {
  const aside: string[] = [];
  for (const folder of folders) {
    const moved = asideOf(folder);
    // What an earlier removal could not empty goes first, the same way.
    if (lstatOrNull(moved)) await removeAside([moved], uid);
    const kind = lstatOrNull(folder);
    if (!kind) continue;
    if (!kind.isDirectory()) {
      unlinkSync(folder);
      continue;
    }
    renameSync(folder, moved);
    aside.push(moved);
  }
  if (aside.length > 0) await removeAside(aside, uid);
}

/** Folders set aside: emptied as the uid, then removed (rmdir, unlink: neither follows a link). */
async function removeAside(aside: string[], uid: number): Promise<void> {
  const folders = aside.filter((path) => lstatOrNull(path)?.isDirectory());
  for (const path of aside) if (!folders.includes(path)) unlinkSync(path);
  if (folders.length === 0) return;
  await emptyAsUid(folders, uid);
  for (const path of folders) {
    try {
      rmdirSync(path);
    } catch (err) {
      throw new Error(`${path} could not be emptied as uid ${uid}: ${(err as Error).message}`);
    }
  }
}

/** `find FOLDER… -mindepth 1 -delete` as `uid` (no new privileges, no groups), up to PASSES times. */
async function emptyAsUid(folders: string[], uid: number): Promise<void> {
  const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', requireBinary('find'), ...folders, '-mindepth', '1', '-delete'];
  for (let pass = 0; pass < PASSES; pass++) {
    const ok = await new Promise<boolean>((resolve) => {
      const child = execFile(requireBinary('setpriv'), argv, { timeout: REMOVAL_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: '/' }, (err) => resolve(!err));
      refuseDescriptorsOnStdio(child);
    });
    if (ok) return;
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
