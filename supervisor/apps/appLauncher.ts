/**
 * The trusted launcher's supervisor side: each level's applications as the policy lists them, with
 * the name and icon of the host's .desktop file, and starting one in its level's cage.
 *
 * Trust rule: what the launcher lists comes only from the policy and the host's files (trusted
 * path, property 2); a cage chooses nothing here. Everything it starts goes through the cage's own
 * launcher (cageLauncher.ts), so each application is a true cage process: the cage's filter, its
 * control group, its uid, no capability (docs/design.md, "One way into a cage"). Apps marked `autostart`
 * are started by the cage's session itself (a cage process too). How many copies run is what the
 * cage reports (its windows, or the programs its launcher started) — a cage that lies about it lies
 * only about itself.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { AppPolicy } from '../../shared/policy';
import type { PolicyReader } from '../policy/policyReader';
import type { LevelApps } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { CageLifecycle } from '../cages/cageLifecycle';
import { launch, launched } from '../cages/cageLauncher';
import { windowClassesOf, windowsOfClass } from './cageWindows';
import { readDesktopEntry, type DesktopEntry } from './desktopEntry';

export interface AppLauncherOptions {
  policy: PolicyReader;
  cages: Map<string, CageLifecycle>;
  journal: AuditJournal;
  /** Where .desktop files are read (tests point it elsewhere). */
  applicationsDir?: string;
  /**
   * The level's apps its cage's launcher started and still run, by app id, when this supervisor
   * does not hold the launcher (the `cloison` part: `app.running` to the cage manager). Absent: the
   * launcher's own list here.
   */
  runningApps?: (level: string) => Promise<Array<{ appId: string }>>;
}

export class AppLauncher {
  private readonly entries = new Map<string, DesktopEntry | null>();

  constructor(private readonly options: AppLauncherOptions) {}

  /**
   * Every level's applications, in policy order, each with how many run: its open windows when its
   * .desktop file names their class (StartupWMClass), else the processes the launcher started for
   * it that still run — the autostarted ones included, started the same way.
   */
  async list(): Promise<LevelApps[]> {
    return Promise.all(
      this.options.policy.current().levels.map(async (level) => {
        const apps = level.cage.driver === 'bwrap' ? level.cage.apps : [];
        const cage = this.options.cages.get(level.id)?.cage ?? null;
        const programs = cage ? launched(cage) : [];
        const remote = cage && this.options.runningApps ? await this.options.runningApps(level.id).catch(() => []) : null;
        const entries = apps.map((app) => this.entryOf(app));
        // Counted by the cage manager where it holds the launcher (`app.windows`): counts, no class names.
        const counted = cage?.appWindows ? await cage.appWindows().catch(() => null) : null;
        const windows = cage && !cage.appWindows && entries.some((e) => e?.windowClass) ? await windowClassesOf(cage) : null;
        return {
          level: level.id,
          apps: apps.map((app, i) => {
            const entry = entries[i];
            const processes = remote ? remote.filter((p) => p.appId === app.id).length : programs.filter((p) => sameArgv(p.argv, app.exec)).length;
            return {
              id: app.id,
              name: entry?.name ?? { fr: app.id, en: app.id },
              icon: entry?.icon ?? null,
              running: counted?.find((c) => c.appId === app.id)?.windows ?? (windows && entry?.windowClass ? windowsOfClass(windows, entry.windowClass) : processes),
            };
          }),
        };
      }),
    );
  }

  /** Starts the level's app `id` in its cage; refused if the policy does not list it or the cage is not running. */
  async launch(level: string, id: string): Promise<{ pid: number }> {
    const app = this.appOf(level, id);
    const lifecycle = this.options.cages.get(level);
    const cage = lifecycle?.cage;
    if (!cage || lifecycle.state.status !== 'running') throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » n’est pas en service`, `cage "${level}" is not running`));
    try {
      const program = await launch(cage, { argv: app.exec });
      this.options.journal.append('app.launch', 'user', { level, app: id, decision: 'started' });
      return { pid: program.pid };
    } catch (err) {
      this.options.journal.append('app.launch', 'user', { level, app: id, decision: 'failed', reason: (err as Error).message.slice(0, 200) });
      throw err;
    }
  }

  private appsOf(level: string): AppPolicy[] {
    const entry = this.options.policy.current().levels.find((l) => l.id === level);
    if (!entry) throw new CloisonError('UNKNOWN_LEVEL', bilingual(`aucun niveau « ${level} » dans la politique`, `no level "${level}" in the policy`));
    return entry.cage.driver === 'bwrap' ? entry.cage.apps : [];
  }

  private appOf(level: string, id: string): AppPolicy {
    const app = this.appsOf(level).find((a) => a.id === id);
    if (!app) throw new CloisonError('POLICY_DENIED', bilingual(`la politique ne donne aucune application « ${id} » au niveau « ${level} »`, `the policy lists no app "${id}" for level "${level}"`));
    return app;
  }

  private entryOf(app: AppPolicy): DesktopEntry | null {
    const key = app.desktop ?? app.id;
    if (!this.entries.has(key)) {
      const dir = this.options.applicationsDir;
      const program = app.exec[0]!.split('/').pop()!;
      this.entries.set(key, readDesktopEntry(key, dir) ?? (app.desktop ? null : readDesktopEntry(program, dir)));
    }
    return this.entries.get(key) ?? null;
  }
}

function sameArgv(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
