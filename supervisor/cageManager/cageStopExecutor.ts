/**
 * The manager's side of `cage.stop`: the level's managed cage stopped as RunningCage.stop stops it
 * (cages/bwrapDriver.ts: its sandbox killed, its control group killed frozen and removed, its
 * network helper ended, its filesystems unmounted), waited for, and its exit answered. A level with
 * no cage running is answered plainly (`stopped: false`), not as an error; one still starting is
 * refused (its start answers first).
 */
import { CloisonError } from '../../shared/errors';
import type { ManagedCages } from './managedCages';
import type { RequestOf } from './requests';

export function cageStopExecutor(options: { cages: ManagedCages }): (req: RequestOf<'cage.stop'>) => Promise<{ stopped: boolean; reason: string }> {
  return async (req) => {
    const cage = options.cages.cage(req.level);
    if (!cage) {
      if (options.cages.state(req.level) === 'starting') throw new CloisonError('WRONG_STATE', `cage ${req.level} is starting: stop it once its start has answered`);
      return { stopped: false, reason: `cage ${req.level} is not running` };
    }
    await cage.stop();
    return { stopped: true, reason: (await cage.exited).reason };
  };
}
