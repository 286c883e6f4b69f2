/**
 * The manager's side of `home.unmount`: the level's home (the authorization checked the mount
 * point is exactly the level's) unmounted (cages/cageMounts.ts waits for the cage's last processes,
 * then detaches lazily), and the loop device still over its image detached — found by the image's
 * device and inode (cages/loopDevice.ts `attachedLoopDevice`, loopOverDescriptor.ts), not by the
 * name sysfs shows, which another file may bear. The level is reserved as `home.mount` reserves it
 * (managedCages.ts): a home is never unmounted under a cage starting or running, nor under a mount.
 */
import { attachedLoopDevice, detachLoop } from '../cages/loopDevice';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint, unmount } from '../cages/cageMounts';
import { CloisonError } from '../../shared/errors';
import type { ManagedCages } from './managedCages';
import type { RequestOf } from './requests';

export function homeUnmountExecutor(options: { stateDir: string; runDir: string; cages: ManagedCages }): (req: RequestOf<'home.unmount'>) => Promise<{ unmounted: boolean }> {
  return async (req) => {
    if (!options.cages.reserve(req.level, 'mounting')) throw new CloisonError('WRONG_STATE', `cage ${req.level} is ${options.cages.state(req.level)}: its home is not unmounted under it`);
    try {
      const paths = bwrapCagePaths(options.stateDir, options.runDir, req.level);
      const mounted = isMountPoint(paths.home);
      await unmount(paths.home);
      const device = attachedLoopDevice(paths.homeImage);
      if (device) await detachLoop(device);
      return { unmounted: mounted };
    } finally {
      options.cages.release(req.level);
    }
  };
}
