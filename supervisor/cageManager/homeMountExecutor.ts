/**
 * The manager's side of `home.mount`: a level's home image reserved, checked and mounted at its
 * home as the supervisor's start does it (cages/cageMounts.ts `mountHome`: homeReservation.ts, mkfs
 * or e2fsck/resize2fs, the loop device attached over the image's descriptor, cages/loopDevice.ts).
 * The image and the mount point must be exactly the ones the manager derives for that level
 * (`bwrapCagePaths`), under the level's uid and home size by the policy now; the level's folder,
 * the image and the mount point are opened without following a link (openedExactly.ts) before
 * anything is done, and once mounted, the filesystem at the mount point must be the loop device
 * over that very image (device and inode), or it is unmounted again and the request refused.
 * A level whose cage is starting or running is refused: mounting first unmounts what is there.
 * The level is reserved in the manager's map for the whole mount (managedCages.ts): a second
 * `home.mount` or a `cage.start` meanwhile is refused WRONG_STATE, as a mount during a start is —
 * two at once would write one `home.img.new` together, or one's refusal unmount the other's home.
 */
import { closeSync, lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { CloisonError } from '../../shared/errors';
import { cageUid, type Policy } from '../../shared/policy';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { mountHome, unmount } from '../cages/cageMounts';
import { loopDeviceOverDescriptor } from '../cages/loopOverDescriptor';
import type { ManagedCages } from './managedCages';
import { openedExactly, refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface HomeMountExecutorOptions {
  policy(): Policy;
  stateDir: string;
  runDir: string;
  /** The manager's cages: a level whose cage runs is not remounted under it. */
  cages: ManagedCages;
}

export function homeMountExecutor(options: HomeMountExecutorOptions): (req: RequestOf<'home.mount'>) => Promise<{ mounted: string }> {
  return async (req) => {
    const policy = options.policy();
    const index = policy.levels.findIndex((l) => l.id === req.level);
    const level = policy.levels[index];
    if (!level || level.cage.driver !== 'bwrap') throw refused(`no bwrap level "${req.level}" in the running policy`);
    const paths = bwrapCagePaths(options.stateDir, options.runDir, req.level);
    if (req.image !== paths.homeImage) throw refused(`image ${JSON.stringify(req.image.slice(0, 200))} is not the level's (${paths.homeImage})`);
    if (req.target !== paths.home) throw refused(`mount point ${JSON.stringify(req.target.slice(0, 200))} is not the level's (${paths.home})`);
    if (!options.cages.reserve(req.level, 'mounting')) {
      const state = options.cages.state(req.level);
      throw new CloisonError('WRONG_STATE', state === 'mounting' ? `cage ${req.level}'s home is being mounted: a second mount is refused` : `cage ${req.level} is ${state}: its home is not remounted under it`);
    }
    try {
      exactlyOrAbsent('level folder', dirname(paths.home), 'folder');
      exactlyOrAbsent('image', paths.homeImage, 'file');
      exactlyOrAbsent('mount point', paths.home, 'folder');
      await mountHome(paths, cageUid(level.cage, index), level.cage.limits.homeBytes);
      let device: string | null = null;
      try {
        device = loopUnder(paths.homeImage);
        if (device && statSync(device).rdev === statSync(paths.home).dev) return { mounted: paths.home };
      } catch (err) {
        // The check itself refused (the image swapped for a link meanwhile): nothing stays mounted.
        await unmount(paths.home);
        throw err;
      }
      await unmount(paths.home);
      throw refused(`the filesystem mounted at ${paths.home} is not the level's image's (${device ?? 'no loop device over it'})`);
    } finally {
      options.cages.release(req.level);
    }
  };
}

/** The path is what it must be, reached with no link on its way, or not there yet (made by the mount, as root). */
function exactlyOrAbsent(what: string, path: string, kind: 'file' | 'folder'): void {
  if (!existsOrLink(path)) return;
  let opened: ReturnType<typeof openedExactly>;
  try {
    opened = openedExactly(path);
  } catch (err) {
    throw refused(`${what}: ${(err as Error).message}`);
  }
  closeSync(opened.fd);
  if (kind === 'file' ? !opened.stat.isFile() : !opened.stat.isDirectory()) throw refused(`${what} ${path} is not a ${kind === 'file' ? 'regular file' : 'folder'}`);
}

/** Anything at the name, a dangling link included. */
function existsOrLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The loop device over the image, found by its device and inode through a descriptor opened without following a link. */
function loopUnder(image: string): string | null {
  const { fd } = openedExactly(image);
  try {
    return loopDeviceOverDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}
