/**
 * The file broker's staging area: the supervisor's own tmpfs (root's, 0700, noexec), where every
 * file is staged between its one read and the user's decision. No cage sees it. In memory, because
 * staging on disk would write every file twice before it lands (the staged copy is read back at
 * once); its size is the largest transfer the policy allows, a limit and not a reservation, and
 * tmpfs pages can be swapped out like any other.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { unmount } from '../cages/cageMounts';

const run = promisify(execFile);

/**
 * `owner`: the account the area is for, when root mounts it for the `cloison` part (the cage
 * manager, at the part's start): the tmpfs's root is then that account's, 0700. Not mounted, the
 * folder itself is handed to that account (still rejected: the caller logs it), so that staging
 * falls back to the run folder's filesystem instead of every transfer failing on a folder of root's.
 */
export async function mountStagingArea(dir: string, bytes: number, owner?: { uid: number; gid: number }): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await unmount(dir);
  const ownedBy = owner ? `,uid=${owner.uid},gid=${owner.gid}` : '';
  try {
    await run(requireBinary('mount'), ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700,nosuid,nodev,noexec${ownedBy}`, 'cloison-staging', dir]);
  } catch (err) {
    if (owner) handOver(dir, owner);
    throw err;
  }
  chmodSync(dir, 0o700);
}

/** The folder given to `owner`, 0700: opened without following a link at its name, then changed through that descriptor. */
function handOver(dir: string, owner: { uid: number; gid: number }): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}

/** The staging area's filesystem type, from the mount table ('tmpfs' when mounted as above), or null if it is no mount point. */
export function stagingAreaFilesystem(dir: string): string | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields[4] === dir && dash > 0) return fields[dash + 1] ?? null;
  }
  return null;
}

export async function unmountStagingArea(dir: string): Promise<void> {
  await unmount(dir);
}

/** Removes whatever an interrupted transfer left staged (the area itself stays). */
export function emptyStagingArea(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}
