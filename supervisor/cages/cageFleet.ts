/**
 * The cage fleet: one lifecycle and one driver per level of the running policy, built, started (or
 * re-adopted), restarted when a reload changes a cage's definition, and stopped. Each cage's
 * status is a fact journaled and shown; what the rest of the supervisor does about a cage going up
 * or down (its screen, its sound, its tunnel) is the caller's, through `onRunning` and `onDown`.
 */
import { desktopTone } from '../../shared/cageScreenSize';
import { shellLocale } from '../policy/shellLocale';
import { cageUid, type LevelPolicy, type Policy, type VncCagePolicy } from '../../shared/policy';
import type { CageState } from '../../shared/rpc';
import type { PolicyReader } from '../policy/policyReader';
import { cageSoundOf } from '../policy/runningPolicy';
import { BwrapDriver, bwrapCagePaths } from './bwrapDriver';
import { adoptOrStart } from './cageAdoption';
import { DEFAULT_APP_QUIT_SECONDS } from './appQuit';
import type { CageDriver } from './cageDriver';
import { CageLifecycle } from './cageLifecycle';
import { VncDriver } from './vncDriver';

type Log = (msg: string, fields?: Record<string, unknown>) => void;
type Fact = (kind: string, fields: Record<string, string | number | boolean | null>) => void;

export interface CageFleetOptions {
  policy: PolicyReader<'levels' | 'audio' | 'locale'>;
  stateDir: string;
  runDir: string;
  /** Records what happened to a cage (a fact, shown even when it cannot be journaled). */
  fact: Fact;
  /** Every change of a cage's state or limits, for the shells. */
  onState: (state: CageState) => void;
  onRunning: (lifecycle: CageLifecycle) => void;
  onDown: (level: string) => void;
  /** A level's smart card endpoint, if the policy gives it the card: bwrap arguments the cage binds it by. */
  smartcard?: (level: string) => { bwrapArgs: readonly string[] } | null;
  /** The size an `auto` cage's Xvnc starts at, asked at each start (null: the policy's start size). */
  startScreen?: (level: string) => { width: number; height: number } | null;
  /**
   * Set in the `cloison` part: a bwrap level's driver, its cage the root cage manager's (started,
   * watched and stopped through its link: cageManager/rejoiningCageDriver.ts).
   */
  remote?: (level: string, uid: number) => CageDriver;
  /** Set in the `cloison` part: a vnc level's driver (its socket reached through the cage manager: cageManager/partSides.ts). */
  remoteVnc?: (level: string, cage: VncCagePolicy) => CageDriver;
  log?: Log;
}

/** The uid a level's bwrap cage runs as under these levels; null for a level whose cage is not ours (vnc). */
export function bwrapUidIn(levels: readonly LevelPolicy[], level: string): number | null {
  const index = levels.findIndex((l) => l.id === level);
  const cage = levels[index]?.cage;
  return cage?.driver === 'bwrap' ? cageUid(cage, index) : null;
}

/** How long a stop of a level's cage waits for its applications to quit; 0 for a cage that is not ours (vnc). */
export function appQuitMsOf(levels: readonly LevelPolicy[], level: string): number {
  const cage = levels.find((l) => l.id === level)?.cage;
  return cage?.driver === 'bwrap' ? (cage.appQuitSeconds ?? DEFAULT_APP_QUIT_SECONDS) * 1000 : 0;
}

export class CageFleet {
  readonly cages = new Map<string, CageLifecycle>();
  private readonly drivers = new Map<string, CageDriver>();

  constructor(private readonly options: CageFleetOptions) {
    options.policy.current().levels.forEach((level, index) => {
      const driver = this.createDriver(level, index);
      this.drivers.set(level.id, driver);
      const lifecycle = new CageLifecycle({ level: level.id, driver, appQuitMs: () => appQuitMsOf(options.policy.current().levels, level.id) });
      lifecycle.on('status', (state) => {
        if (state.status === 'running') options.onRunning(lifecycle);
        else options.onDown(level.id);
        // A cage's state is a fact, not a decision: it is shown even when it cannot be journaled.
        options.fact(`cage.${state.status}`, { level: state.level, restarts: state.restarts, ...(state.detail ? { detail: state.detail } : {}) });
        options.onState(state);
        options.log?.('cage status', { level: state.level, status: state.status, restarts: state.restarts, ...(state.detail ? { detail: state.detail } : {}) });
      });
      // What a stop found: applications that quit, or windows left open when the bound passed (a question unanswered).
      lifecycle.on('appsQuit', (state, quit) => {
        options.fact('cage.apps.quit', { level: state.level, outcome: quit.outcome, windows: quit.windows, windowsLeft: quit.windowsLeft, programsLeft: quit.programsLeft, waitedMs: quit.waitedMs, ...(quit.reason ? { reason: quit.reason } : {}) });
        options.log?.('cage applications asked to quit', { level: state.level, ...quit });
      });
      lifecycle.on('notice', (state, notice) => {
        if (notice.message) options.fact('cage.limit', { level: state.level, limit: notice.limit, detail: notice.message });
        options.onState(state);
        options.log?.('cage limit', { level: state.level, limit: notice.limit });
      });
      this.cages.set(level.id, lifecycle);
    });
  }

  driverOf(level: string): CageDriver | undefined {
    return this.drivers.get(level);
  }

  /** The uid a level's bwrap cage runs as; null for a level whose cage is not ours (vnc). */
  bwrapUidOf(level: string): number | null {
    return bwrapUidIn(this.options.policy.current().levels, level);
  }

  /** A bwrap cage's home as the file broker reaches it; null for a level whose cage is not ours (vnc, or the manager's in the cloison part). */
  homeOf(level: string): { home: string; uid: number } | null {
    if (this.options.remote) return null;
    const uid = this.bwrapUidOf(level);
    return uid === null ? null : { home: bwrapCagePaths(this.options.stateDir, this.options.runDir, level).home, uid };
  }

  /** A running bwrap cage's X11 socket folder (its screen is set through it); null otherwise. */
  x11DirOf(level: string): string | null {
    const driver = this.drivers.get(level);
    return driver instanceof BwrapDriver && this.cages.get(level)?.cage ? driver.x11Dir : null;
  }

  /** Starts every cage in parallel; a cage left running by the supervisor before this one (crash, restart, upgrade) is re-adopted if it checks out. */
  async startAll(): Promise<void> {
    await Promise.all([...this.cages.values()].map((c) => adoptOrStart(c, this.drivers.get(c.level), (kind, fields) => this.options.fact(kind, fields), this.options.log)));
  }

  /** Restarts the cages whose definition changed, each with its new driver (after a reload). */
  async restart(levels: string[], next: Policy): Promise<void> {
    for (const id of levels) {
      const index = next.levels.findIndex((l) => l.id === id);
      const driver = this.createDriver(next.levels[index]!, index);
      this.drivers.set(id, driver);
      await this.cages.get(id)!.replaceDriver(driver, 'restarting: its definition changed in the policy');
    }
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.cages.values()].map((c) => c.stop(reason)));
  }

  private createDriver(level: LevelPolicy, index: number): CageDriver {
    const { options } = this;
    if (level.cage.driver === 'bwrap' && options.remote) return options.remote(level.id, cageUid(level.cage, index));
    if (level.cage.driver === 'vnc' && options.remoteVnc) return options.remoteVnc(level.id, level.cage);
    return level.cage.driver === 'bwrap'
      ? new BwrapDriver({
          level: level.id,
          cage: level.cage,
          uid: cageUid(level.cage, index),
          paths: bwrapCagePaths(options.stateDir, options.runDir, level.id),
          sound: cageSoundOf(options.policy.current(), level.id),
          journal: (kind, fields) => options.fact(kind, fields),
          smartcard: options.smartcard?.(level.id) ?? null,
          startScreen: () => options.startScreen?.(level.id) ?? null,
          desktopColour: desktopTone(level.colour),
          locale: shellLocale(options.policy.current()),
          ...(options.log ? { log: options.log } : {}),
        })
      : new VncDriver({ cage: level.cage });
  }
}
