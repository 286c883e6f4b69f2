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
 *
 * The uid may have jammed its own folder (a subfolder chmod 0500 with a file in it:
 * proxyFolderJam.attack.test.ts): its rights on what it owns are given back first, as that uid.
 * A folder still not emptied after that (a file another uid owns in it) is renamed once more under a
 * name of its own and given back to the caller, which says so: it never keeps a start from happening.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { requireBinary } from './binaries';
import { refuseDescriptorsOnStdio } from './refusePassedDescriptors';

const REMOVAL_TIMEOUT_MS = 10_000;
/** find's passes: a pass a live process of the uid raced (a link made mid-walk) leaves some behind. */
const PASSES = 3;

/** The name a folder is renamed to while its content is deleted (left there only if the supervisor stopped midway). */
export function asideOf(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.removed`);
}

/**
 * Removes each folder (absent: nothing to do) and whatever an earlier removal left at asideOf's
 * name. Returns the folders that could not be emptied, each left under a fresh name of its own
 * (`.<name>.left-<hex>`, beside it), never taken again: the folder's names are free for a new one.
 */
export async function removeOwnedFolders(folders: string[]): Promise<string[]> {
  const aside: string[] = [];
  const left: string[] = [];
  for (const folder of folders) {
    const moved = asideOf(folder);
    // What an earlier removal did not finish (the supervisor stopped midway) goes first, the same way.
    if (lstatOrNull(moved)) left.push(...(await removeAside([moved])));
    const kind = lstatOrNull(folder);
    if (!kind) continue;
    if (!kind.isDirectory()) {
      unlinkSync(folder);
      continue;
    }
    renameSync(folder, moved);
    aside.push(moved);
  }
  if (aside.length > 0) left.push(...(await removeAside(aside)));
  return left;
}

/**
 * Folders set aside: each emptied as its owner — the proxy uid it was given to, which may be an
 * earlier policy's — then removed (rmdir, unlink: neither follows a link). A folder still root's
 * was never given away: nothing can be in it, rmdir alone. Returns where those not emptied were left.
 */
async function removeAside(aside: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const path of aside) {
    const kind = lstatSync(path);
    if (!kind.isDirectory()) {
      unlinkSync(path);
      continue;
    }
    if (kind.uid !== 0) await emptyAsOwner(path, kind.uid, kind.gid);
    try {
      rmdirSync(path);
    } catch {
      const elsewhere = join(dirname(path), `${basename(path).replace(/\.removed$/, '')}.left-${randomBytes(6).toString('hex')}`);
      renameSync(path, elsewhere);
      left.push(elsewhere);
    }
  }
  return left;
}

/**
 * As the folder's owner (no new privileges, no supplementary groups, the folder's own gid: the
 * owner's uid number may be some other group's gid, `cloison`'s for one), from inside it: started
 * there by root, so the uid needs no search right on the folders above (the browser part's run
 * folder is root's 0700), and the folder is the one root set aside. First `chmod -R u+rwx .`: a
 * non-root uid changes the mode of nothing but what it owns, and GNU chmod -R does not follow a
 * link met in its walk (coreutils 9.1: a link to a 0500 folder leaves it 0500); a link swapped in
 * mid-walk would lead it only to files that uid owns anyway, whose rights it could change itself.
 * Then `find . -mindepth 1 -delete`, up to PASSES times.
 */
async function emptyAsOwner(folder: string, uid: number, gid: number): Promise<void> {
  const asOwner = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--no-new-privs', '--'];
  // chmod's status is not read: what another uid owns stays as it is, and find says the rest.
  await runAsOwner(folder, [...asOwner, requireBinary('chmod'), '-R', 'u+rwx', '.']);
  for (let pass = 0; pass < PASSES; pass++) {
    if (await runAsOwner(folder, [...asOwner, requireBinary('find'), '.', '-mindepth', '1', '-delete'])) break;
  }
}

/** setpriv with `argv` in `folder`; whether it exited 0. */
function runAsOwner(folder: string, argv: string[]): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const child = execFile(requireBinary('setpriv'), argv, { timeout: REMOVAL_TIMEOUT_MS, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, cwd: folder }, (err) => resolve(!err));
    refuseDescriptorsOnStdio(child);
  });
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
