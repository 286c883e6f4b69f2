/**
 * Removing folders another uid owns without root ever walking a tree that uid may change: a card
 * proxy's own folders (`proxy/`, `netplex/`: chowned to the level's proxy uid) at a new start, and
 * the browser part's old folder (browserPartSpawn.ts). Root's recursive removal reads
 * a folder's names and then unlinks each by path: a process of the proxy uid still alive (a worker
 * a cage's bytes took over, that left the control group's reach on a host without one) swaps a
 * subfolder for a link between the two, and root's unlinks land wherever the link points.
 *
 * So root only renames each folder aside (within the level's folder, root's 0755: the proxy uid
 * can neither rename it back nor put a link in its place), and its content is deleted by `find
 * -delete` run from inside it as the folder's owner, the proxy uid itself: whatever it is made to follow, it
 * deletes only what that uid may delete anyway. Root then removes the emptied folder with rmdir, which follows nothing.
 */
import { execFile } from 'node:child_process';
import { lstatSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { requireBinary } from './binaries';
import { refuseDescriptorsOnStdio } from './refusePassedDescriptors';

const REMOVAL_TIMEOUT_MS = 10_000;
/** find's passes: a pass a live process of the uid raced (a link made mid-walk) leaves some behind. */
const PASSES = 3;

/** The name a folder is renamed to while its content is deleted (left there if it could not be). */
export function asideOf(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.removed`);
}

/**
 * Removes each folder (absent: nothing to do) and whatever an earlier removal left aside; throws
 * when one could not be emptied (a process of its uid still writing there).
 */
export async function removeOwnedFolders(folders: string[]): Promise<void> {
  const aside: string[] = [];
  for (const folder of folders) {
    const moved = asideOf(folder);
    // What an earlier removal could not empty goes first, the same way.
    if (lstatOrNull(moved)) await removeAside([moved]);
    const kind = lstatOrNull(folder);
    if (!kind) continue;
    if (!kind.isDirectory()) {
      unlinkSync(folder);
      continue;
    }
    renameSync(folder, moved);
    aside.push(moved);
  }
  if (aside.length > 0) await removeAside(aside);
}

/**
 * Folders set aside: each emptied as its owner — the proxy uid it was given to, which may be an
 * earlier policy's — then removed (rmdir, unlink: neither follows a link). A folder still root's
 * was never given away: nothing can be in it, rmdir alone.
 */
async function removeAside(aside: string[]): Promise<void> {
  const owners = new Map<number, string[]>();
  for (const path of aside) {
    const kind = lstatSync(path);
    if (!kind.isDirectory()) {
      unlinkSync(path);
      continue;
    }
    owners.set(kind.uid, [...(owners.get(kind.uid) ?? []), path]);
  }
  for (const [uid, folders] of owners) {
    if (uid !== 0) await emptyAsUid(folders, uid);
    for (const path of folders) {
      try {
        rmdirSync(path);
      } catch (err) {
        throw new Error(`${path} could not be emptied as uid ${uid}: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * `find . -mindepth 1 -delete` as `uid` (no new privileges, no groups) from inside each folder, up
 * to PASSES times: started there by root, so the uid needs no search right on the folders above
 * (the browser part's run folder is root's 0700), and the folder is the one root set aside.
 */
async function emptyAsUid(folders: string[], uid: number): Promise<void> {
  const argv = ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--no-new-privs', '--', requireBinary('find'), '.', '-mindepth', '1', '-delete'];
  for (const folder of folders) {
    for (let pass = 0; pass < PASSES; pass++) {
      const ok = await new Promise<boolean>((resolve) => {
        const child = execFile(requireBinary('setpriv'), argv, { timeout: REMOVAL_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: folder }, (err) => resolve(!err));
        refuseDescriptorsOnStdio(child);
      });
      if (ok) break;
    }
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
