/**
 * The cages the root manager runs, one per level at most: what `cage.start` made, kept manager-side
 * (the unprivileged part holds none of it). The other executors reach a cage only through here:
 * `cage.vncSocket` its endpoint and peer check, `app.launch` its launcher channel, the tests its
 * sandbox's pid. A level is reserved from the moment its start begins, so a second start
 * (or a stop racing the first) is refused rather than run beside it; a cage that ends, however it
 * ends, leaves the map by itself, and its exit is kept until the level's next start (`cage.wait`).
 * A level is reserved as well while `home.mount` mounts its home: two mounts of one image at once
 * (two loop devices over it, or one's refusal unmounting the other's) and a start mounting the
 * home under a mount are refused the same way.
 * A start the manager made itself at its own start (managerMain.ts, before the part asks) is held
 * here too, for the part's first `cage.start` of that level to take, once (cageStartExecutor.ts).
 */
import type { CageLauncher } from '../cages/cageLauncher';
import type { CageExit, RunningCage } from '../cages/cageDriver';

export type ManagedCage = { state: 'starting' } | { state: 'mounting' } | { state: 'running'; cage: RunningCage };

export class ManagedCages {
  private readonly cages = new Map<string, ManagedCage>();
  /** How each level's last cage ended, until the level starts again. */
  private readonly lastExits = new Map<string, CageExit>();
  /** The manager's own starts not yet taken by the part's `cage.start`. */
  private readonly early = new Map<string, Promise<unknown>>();

  /** Holds the manager's own start of `level` (its outcome handled: a failure is the part's to see or to start again). */
  holdEarly(level: string, start: Promise<unknown>): void {
    start.catch(() => undefined);
    this.early.set(level, start);
  }

  /** The manager's own start of `level`, given once: the part's next `cage.start` of it is refused as any second one. */
  takeEarly(level: string): Promise<unknown> | undefined {
    const start = this.early.get(level);
    this.early.delete(level);
    return start;
  }

  /** Reserves `level` for a start (or its home's mount); false when it is starting, mounting or running already. */
  reserve(level: string, purpose: 'starting' | 'mounting' = 'starting'): boolean {
    if (this.cages.has(level)) return false;
    this.cages.set(level, { state: purpose });
    if (purpose === 'starting') this.lastExits.delete(level);
    return true;
  }

  /** The start failed, or the mount is over: the level is free again. */
  release(level: string): void {
    const state = this.cages.get(level)?.state;
    if (state === 'starting' || state === 'mounting') this.cages.delete(level);
  }

  /** The start succeeded: the cage is the level's until it exits. */
  running(level: string, cage: RunningCage): void {
    const entry: ManagedCage = { state: 'running', cage };
    this.cages.set(level, entry);
    void cage.exited.then((exit) => {
      if (this.cages.get(level) !== entry) return;
      this.cages.delete(level);
      this.lastExits.set(level, exit);
    });
  }

  state(level: string): ManagedCage['state'] | 'stopped' {
    return this.cages.get(level)?.state ?? 'stopped';
  }

  // Bound, so an executor can be handed `cages.cage`, `cages.launcherOf`, `cages.innerPidOf` alone.
  /** The level's running cage, or null (starting, stopped, never started). */
  readonly cage = (level: string): RunningCage | null => {
    const entry = this.cages.get(level);
    return entry?.state === 'running' ? entry.cage : null;
  };

  /** Whether the level has a running cage here (a level the policy dropped may still: the authorization lets it be stopped). */
  readonly holds = (level: string): boolean => this.cage(level) !== null;

  readonly launcherOf = (level: string): CageLauncher | null => this.cage(level)?.launcher ?? null;

  readonly innerPidOf = (level: string): number | null => this.cage(level)?.innerPid ?? null;

  /** How the level's last cage ended, while no other has started since. */
  lastExit(level: string): CageExit | null {
    return this.lastExits.get(level) ?? null;
  }

  levels(): string[] {
    return [...this.cages.keys()];
  }
}
