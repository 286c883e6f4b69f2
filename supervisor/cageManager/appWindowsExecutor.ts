/**
 * The manager's side of `app.windows`: how many windows each of a level's apps has open in its
 * cage, for the part's app launcher (apps/appLauncher.ts), for the apps whose .desktop file names
 * their windows' class (StartupWMClass: Firefox and LibreOffice hand a second window over to the
 * process already running, so their processes undercount them). The classes are read by a cage
 * process through the cage's launcher (apps/cageWindows.ts), whose channel only the manager holds.
 *
 * What crosses is the policy's app ids (the manager's running policy) and a count each — never a
 * class name the cage wrote: a cage naming its windows as it likes, or opening hundreds, changes
 * only its own counts (windowClassesOf reads at most 256 windows). `apps: null`: the cage could not
 * be asked (not running, no answer), and the part counts processes instead.
 */
import type { Policy } from '../../shared/policy';
import { windowClassesOf, windowsOfClass } from '../apps/cageWindows';
import { readDesktopEntry } from '../apps/desktopEntry';
import type { RunningCage } from '../cages/cageDriver';
import type { RequestOf } from './requests';

export interface AppWindowsExecutorOptions {
  policy(): Policy;
  cage(level: string): RunningCage | null;
  /** Where the .desktop files are read (tests point it elsewhere); the system's folder by default. */
  applicationsDir?: string;
}

export interface AppWindows {
  appId: string;
  windows: number;
}

export function appWindowsExecutor(options: AppWindowsExecutorOptions): (req: RequestOf<'app.windows'>) => Promise<{ apps: AppWindows[] | null }> {
  return async (req) => {
    const level = options.policy().levels.find((l) => l.id === req.level);
    const apps = level?.cage.driver === 'bwrap' ? level.cage.apps : [];
    // Each app's class as the launcher finds it (appLauncher.ts entryOf): its desktop file, else its program's.
    const classes = apps.flatMap((app) => {
      const program = app.exec[0]!.split('/').pop()!;
      const entry = readDesktopEntry(app.desktop ?? app.id, options.applicationsDir) ?? (app.desktop ? null : readDesktopEntry(program, options.applicationsDir));
      return entry?.windowClass ? [{ appId: app.id, windowClass: entry.windowClass }] : [];
    });
    const cage = options.cage(req.level);
    if (!cage || classes.length === 0) return { apps: classes.length === 0 && cage ? [] : null };
    const windows = await windowClassesOf(cage);
    if (!windows) return { apps: null };
    return { apps: classes.map(({ appId, windowClass }) => ({ appId, windows: windowsOfClass(windows, windowClass) })) };
  };
}
