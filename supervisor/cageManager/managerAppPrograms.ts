/**
 * What the part's app launcher counts when the cage manager holds the cages' launchers: the level's
 * apps that run, by `app.running` (appRunningExecutor.ts), read each time the launcher's list is
 * asked for — an app that ended is no longer in the answer. For AppLauncherOptions.runningApps.
 */
import type { ManagerRequester } from './managerLink';

export function managerRunningApps(client: ManagerRequester): (level: string) => Promise<Array<{ appId: string }>> {
  return async (level) => {
    const answer = (await client.request({ op: 'app.running', level })) as { programs?: unknown };
    if (!Array.isArray(answer.programs)) throw new Error('the cage manager\'s answer to app.running is not one');
    return answer.programs.filter((p): p is { appId: string } => typeof (p as { appId?: unknown })?.appId === 'string');
  };
}
