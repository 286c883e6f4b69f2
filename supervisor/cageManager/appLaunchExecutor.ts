/**
 * The manager's side of `app.launch`: one of a level's applications started through that cage's
 * launcher channel (cages/cageLauncher.ts), which the manager holds — holding it is running any
 * program as the cage's user, so nothing but the policy's `exec` of the app goes through it. The
 * authorization compared the request's argv with the policy's; here the program run is the
 * policy's own `exec`, read again from the running policy (a reload between the check and the act
 * runs the new policy's command or none), never the request's array.
 */
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import type { CageLauncher } from '../cages/cageLauncher';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface AppLaunchExecutorOptions {
  /** The running policy, read at each request. */
  policy(): Policy;
  /** The launcher of the level's running cage (the manager's map of running cages), or null. */
  launcherOf(level: string): CageLauncher | null;
}

export function appLaunchExecutor(options: AppLaunchExecutorOptions): (req: RequestOf<'app.launch'>) => Promise<{ pid: number }> {
  return async (req) => {
    const level = options.policy().levels.find((l) => l.id === req.level);
    const app = level?.cage.driver === 'bwrap' ? level.cage.apps.find((a) => a.id === req.appId) : undefined;
    if (!app) throw refused(`level ${req.level} has no app "${req.appId.slice(0, 64)}" in the running policy`);
    const exec = [...app.exec];
    if (exec.length !== req.argv.length || exec.some((arg, i) => arg !== req.argv[i])) throw refused(`app ${app.id}'s command line is not the running policy's`);
    const launcher = options.launcherOf(req.level);
    if (!launcher?.alive) throw new CloisonError('CAGE_UNAVAILABLE', `cage ${req.level} is not running or its launcher is not connected`);
    const program = await launcher.launch({ argv: exec });
    return { pid: program.pid };
  };
}
