/**
 * The manager's side of `app.running`: which of a level's applications run in its cage, for the
 * part's app launcher (apps/appLauncher.ts counts them). The cage's launcher — whose channel only
 * the manager holds — knows what it started and what has ended; the answer is that list cut to the
 * running policy's apps (their id, pid, start), never another program's command line (a training
 * look-alike carries the other level's band text; a helper's arguments are the manager's affair).
 * A cage that lies about its programs lies only about its own counts. Each call is a fresh reading:
 * an app that ended is simply no longer listed.
 */
import type { Policy } from '../../shared/policy';
import type { CageLauncher } from '../cages/cageLauncher';
import type { RequestOf } from './requests';

export interface AppRunningExecutorOptions {
  policy(): Policy;
  launcherOf(level: string): CageLauncher | null;
}

export interface RunningApp {
  appId: string;
  pid: number;
  startedAt: number;
}

/** More than any launcher list a person makes; a cage reporting more is cut here. */
const MAX_LISTED = 256;

export function appRunningExecutor(options: AppRunningExecutorOptions): (req: RequestOf<'app.running'>) => Promise<{ programs: RunningApp[] }> {
  return async (req) => {
    const level = options.policy().levels.find((l) => l.id === req.level);
    const apps = level?.cage.driver === 'bwrap' ? level.cage.apps : [];
    const launcher = options.launcherOf(req.level);
    if (!launcher?.alive) return { programs: [] };
    const programs = launcher.launched().flatMap((p) => {
      const app = apps.find((a) => a.exec.length === p.argv.length && a.exec.every((arg, i) => arg === p.argv[i]));
      return app ? [{ appId: app.id, pid: p.pid, startedAt: p.startedAt }] : [];
    });
    return { programs: programs.slice(0, MAX_LISTED) };
  };
}
