/**
 * The only places a cage can write, each a filesystem of its own mounted noexec,nosuid,nodev:
 *
 * - its home, an ext4 image of `homeBytes` loop-mounted at the home's path: a cage that fills it
 *   fills only itself, never the filesystem the journal lives on;
 * - one tmpfs of `tmpfsBytes` ("scratch"), whose folders become /tmp, /var/tmp, /dev/shm and the
 *   folders of its VNC and X sockets.
 *
 * bubblewrap keeps a bind source's flags, so inside the cage nothing written there can be
 * executed: programs come only from the read-only /usr (CLIP OS: "files created in a user
 * partition can never run"). The image is allocated whole when made (homeReservation.ts): a sparse
 * one would take disk as the cage writes, until the journal's filesystem is full.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { allocateImage, reserveImage } from './homeReservation';
import { attachedLoopDevice, attachLoopWritable, detachLoop, makeWritable } from './loopDevice';
import { copyOldHome, fillingImageOf, measureOldHome, oldHomeOf, putBackInterruptedMigration, removeOldHome } from './homeMigration';

const run = promisify(execFile);

/** Folders of the scratch tmpfs, with their modes. */
export const SCRATCH_DIRS = { tmp: 0o1777, varTmp: 0o1777, shm: 0o1777, vnc: 0o700, x11: 0o1777 } as const;
const SCRATCH_NAMES: Record<keyof typeof SCRATCH_DIRS, string> = { tmp: 'tmp', varTmp: 'var-tmp', shm: 'shm', vnc: 'vnc', x11: 'x11' };
const WRITABLE_FLAGS = 'nosuid,nodev,noexec';

export interface CageMountPaths {
  home: string;
  /** The home's image file, beside the home (root's, never inside any cage). */
  homeImage: string;
  scratch: string;
}

export function scratchDir(scratch: string, which: keyof typeof SCRATCH_DIRS): string {
  return join(scratch, SCRATCH_NAMES[which]);
}

/** Is `path` the root of a mount (and not just a folder on its parent's filesystem)? */
export function isMountPoint(path: string): boolean {
  try {
    const target = path.replace(/\/+$/, '');
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => unescapeMountPath(line.split(' ')[4] ?? '') === target);
  } catch {
    return false;
  }
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Unmounts, waiting a little for the cage's last processes to let go: an image still mounted would
 * be mounted a second time by the next start. Only a mount still busy after that is detached
 * lazily (a helper holding a file must not keep the cage down for good).
 */
export async function unmount(path: string): Promise<void> {
  for (let attempt = 0; isMountPoint(path); attempt++) {
    const lazy = attempt >= 20;
    try {
      await run(requireBinary('umount'), lazy ? ['-l', path] : [path]);
    } catch (err) {
      if (lazy) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Mounts the home image and the scratch tmpfs, side by side (start-up waits on both). */
export async function mountCageFilesystems(paths: CageMountPaths, uid: number, limits: { homeBytes: number; tmpfsBytes: number }): Promise<void> {
  requireBinary('mount');
  const mounted = await Promise.allSettled([mountHome(paths, uid, limits.homeBytes), mountScratch(paths.scratch, uid, limits.tmpfsBytes)]);
  const failed = mounted.find((m): m is PromiseRejectedResult => m.status === 'rejected');
  if (failed) {
    // A start refused (a home that cannot be reserved) leaves nothing mounted behind it.
    await unmountCageFilesystems(paths).catch(() => undefined);
    throw failed.reason;
  }
}

/** The home image, made, grown or migrated from a plain folder first (the manager's `home.mount` alone too). */
export async function mountHome(paths: CageMountPaths, uid: number, homeBytes: number): Promise<void> {
  await unmount(paths.home);
  putBackInterruptedMigration(paths.home, paths.homeImage);
  if (!existsSync(paths.homeImage) && existsSync(paths.home) && lstatSync(paths.home).isDirectory()) return migrateHome(paths, uid, homeBytes);
  // An image still attached (the last cage's namespace not yet gone) is mounted through the same
  // loop device, so the kernel keeps one filesystem instance for it, never two over one file; it
  // is not resized while in use (the next start grows it).
  const attached = attachedLoopDevice(paths.homeImage);
  await prepareImage(paths.homeImage, uid, homeBytes, attached !== null);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  await mountImageWritable(paths.homeImage, attached, paths.home);
  giveHome(paths.home, uid);
}

/**
 * A home from before images: its image made and filled aside (homeMigration.ts: copied in as the
 * cage's uid, links stay links), named the home's image only once the copy is whole; the old folder
 * goes then. A copy that failed leaves no image and the old home where it was: refused, said why,
 * and tried again at every start until it succeeds — never a start on half a home.
 */
async function migrateHome(paths: CageMountPaths, uid: number, homeBytes: number): Promise<void> {
  const old = oldHomeOf(paths.home);
  const filling = fillingImageOf(paths.homeImage);
  renameSync(paths.home, old);
  try {
    const oldBytes = await measureOldHome(old, uid, homeBytes);
    mkdirSync(dirname(paths.homeImage), { recursive: true, mode: 0o700 });
    await makeImage(filling, uid, homeBytes);
    mkdirSync(paths.home, { mode: 0o700 });
    await mountImageWritable(filling, null, paths.home);
    giveHome(paths.home, uid);
    const fs = statfsSync(paths.home);
    await copyOldHome(old, paths.home, uid, { oldBytes, homeBytes, room: fs.bavail * fs.bsize });
  } catch (err) {
    throw await abandonMigration(paths, err as Error);
  }
  chmodSync(paths.home, 0o700); // the copy gave it the old folder's mode
  renameSync(filling, paths.homeImage); // whole: from now on the home's image
  await removeOldHome(old);
}

/** The half-filled image away and the old home back where it was; the error to throw (saying where the old home is if it could not go back). */
async function abandonMigration(paths: CageMountPaths, err: Error): Promise<Error> {
  try {
    await unmount(paths.home);
    rmSync(fillingImageOf(paths.homeImage), { force: true });
    putBackInterruptedMigration(paths.home, paths.homeImage);
    return err;
  } catch (putBack) {
    return new Error(`${err.message} (the old home waits in ${basename(oldHomeOf(paths.home))}, put back at the next start: ${(putBack as Error).message})`);
  }
}

/** The mounted home's root: the cage's, 0700, without mkfs's lost+found. */
function giveHome(home: string, uid: number): void {
  chownSync(home, uid, uid);
  chmodSync(home, 0o700);
  removeEmptyLostAndFound(home);
}

/**
 * mkfs's lost+found, root's and empty, is no use in a home. Only rmdir, which walks nothing: the
 * name is the cage's to reuse (a folder of its own there is its own), and one e2fsck filled stays.
 */
function removeEmptyLostAndFound(home: string): void {
  const path = join(home, 'lost+found');
  try {
    if (lstatSync(path).uid === 0) rmdirSync(path);
  } catch {
    // absent, not empty, or not a folder: left as it is
  }
}

async function mountScratch(scratch: string, uid: number, tmpfsBytes: number): Promise<void> {
  await unmount(scratch);
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  await run(requireBinary('mount'), ['-t', 'tmpfs', '-o', `size=${tmpfsBytes},mode=0755,${WRITABLE_FLAGS}`, 'cloison-scratch', scratch]);
  for (const [which, mode] of Object.entries(SCRATCH_DIRS) as Array<[keyof typeof SCRATCH_DIRS, number]>) {
    const dir = scratchDir(scratch, which);
    mkdirSync(dir, { mode });
    chmodSync(dir, mode);
  }
  chownSync(scratchDir(scratch, 'vnc'), uid, uid);
}

/**
 * Once the cage's Xvnc has bound its sockets, their folders become root's: the cage can no
 * longer remove, rename or replace a socket the supervisor connects to.
 */
export function lockSocketFolders(scratch: string): void {
  for (const which of ['vnc', 'x11'] as const) {
    const dir = scratchDir(scratch, which);
    chownSync(dir, 0, 0);
    chmodSync(dir, 0o755);
  }
}

export async function unmountCageFilesystems(paths: CageMountPaths): Promise<void> {
  await unmount(paths.scratch);
  await unmount(paths.home);
}

/**
 * Mounts the image read-write through a loop device made writable first (see loopDevice.ts), not
 * `mount -o loop`, which would mount the home read-only on a device left write-protected.
 * Detaching a mounted device only marks it to go with the mount, as `mount -o loop` does.
 */
async function mountImageWritable(image: string, attached: string | null, target: string): Promise<void> {
  if (attached) {
    try {
      await makeWritable(attached);
      await run(requireBinary('mount'), ['-o', `${WRITABLE_FLAGS},noinit_itable`, attached, target]);
      return;
    } catch (err) {
      // The last cage's namespace went meanwhile, and its device with it (autoclear: "can't read
      // superblock", seen after a cage left running was ended): attached afresh below.
      if (attachedLoopDevice(image) === attached) throw err;
    }
  }
  const device = await attachLoopWritable(image);
  try {
    // noinit_itable: the kernel never zeroes an older image's tables through the loop device later
    // (loop turns zeroing into holes punched in the image: disk handed back, to be taken again).
    await run(requireBinary('mount'), ['-o', `${WRITABLE_FLAGS},noinit_itable`, device, target]);
  } finally {
    await detachLoop(device);
  }
}

async function prepareImage(image: string, uid: number, bytes: number, inUse: boolean): Promise<void> {
  mkdirSync(dirname(image), { recursive: true, mode: 0o700 });
  if (!existsSync(image)) {
    // Made aside and renamed into place: an image that could not be reserved or formatted is never
    // taken for a home at the next start.
    const fresh = `${image}.new`;
    await makeImage(fresh, uid, bytes);
    renameSync(fresh, image);
    return;
  }
  // A larger limit in the policy grows the home; a smaller one keeps what is there (no data lost).
  // An image in use keeps its size; a sparse one (from an older version) is allocated either way.
  const current = statSync(image).size;
  const grow = !inUse && current < bytes;
  await reserveImage(image, grow ? bytes : current);
  if (grow) {
    await run(requireBinary('e2fsck'), ['-f', '-p', image]).catch(() => undefined);
    await run(requireBinary('resize2fs'), [image]);
  }
}

/** A new ext4 image of `bytes` at `path`, reserved whole, the uid's root; nothing left at `path` if it fails. */
async function makeImage(path: string, uid: number, bytes: number): Promise<void> {
  writeFileSync(path, '', { mode: 0o600 });
  try {
    await reserveImage(path, bytes);
    // Tables zeroed now, not by the kernel later through the loop device (which would punch holes).
    await run(requireBinary('mkfs.ext4'), ['-q', '-F', '-m', '0', '-E', `lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=${uid}:${uid}`, path]);
    await allocateImage(path, bytes);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}
