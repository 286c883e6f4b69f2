/**
 * The manager's side of `home.unmount`: the level's home (the authorization checked the mount
 * point is exactly the level's) unmounted (cages/cageMounts.ts waits for the cage's last processes,
 * then detaches lazily), and the loop device still over its image detached — found by the image's
 * device and inode (cages/loopDevice.ts `attachedLoopDevice`, loopOverDescriptor.ts), not by the
 * name sysfs shows, which another file may bear.
 */
import { attachedLoopDevice, detachLoop } from '../cages/loopDevice';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint, unmount } from '../cages/cageMounts';
import type { RequestOf } from './requests';

export function homeUnmountExecutor(folders: { stateDir: string; runDir: string }): (req: RequestOf<'home.unmount'>) => Promise<{ unmounted: boolean }> {
  return async (req) => {
    const paths = bwrapCagePaths(folders.stateDir, folders.runDir, req.level);
    const mounted = isMountPoint(paths.home);
    await unmount(paths.home);
    const device = attachedLoopDevice(paths.homeImage);
    if (device) await detachLoop(device);
    return { unmounted: mounted };
  };
}
