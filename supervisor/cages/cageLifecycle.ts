/**
 * One cage's lifecycle as an explicit state machine: stopped → starting → running → crashed, with
 * restart and backoff. Illegal transitions throw; `stopped` is left only by an explicit start().
 * Every stop of a running cage (the user's restart, a reload, the supervisor's stop) first asks its
 * applications to quit as the user would, a bounded time (appQuit.ts): no work is lost to a
 * stop a user could have avoided by quitting first. The cage stays `running` meanwhile: its viewer
 * shows the applications closing, and any question they ask.
 */
import { cageDetailText } from './cageDetailText';
import { EventEmitter } from 'node:events';
import type { CageState, CageStatus } from '../../shared/rpc';
import type { CageDriver, CageNotice, RunningCage } from './cageDriver';
import type { AppQuitOutcome } from './appQuit';
import { MissingBinaryError } from '../system/binaries';

const ALLOWED: Record<CageStatus, readonly CageStatus[]> = {
  stopped: ['starting'],
  starting: ['running', 'crashed', 'stopped'],
  running: ['crashed', 'stopped'],
  crashed: ['starting', 'stopped'],
};

export interface CageLifecycleOptions {
  level: string;
  driver: CageDriver;
  /** First restart delay; doubled after each consecutive crash up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Consecutive crashes after which automatic restarts stop (the user may still retry). */
  maxConsecutiveCrashes?: number;
  /** A cage that ran this long resets the crash count. */
  healthyAfterMs?: number;
  now?: () => number;
  /** How long a stop waits for the cage's applications to quit (read at each stop: the running policy's); 0: no asking. */
  appQuitMs?: () => number;
}

export class CageLifecycle extends EventEmitter<{ status: [CageState]; notice: [CageState, CageNotice]; appsQuit: [CageState, AppQuitOutcome] }> {
  private status: CageStatus = 'stopped';
  private detail: string | undefined;
  private running: RunningCage | null = null;
  private restarts = 0;
  private consecutiveCrashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private generation = 0;
  /** The generation whose applications were asked to quit ahead of its stop (quitAppsBeforeStop); -1: none. */
  private appsAsked = -1;
  /** The last start() under way: a stop waits for it (its cage, once it has one, is stopped too). */
  private lastStart: Promise<void> = Promise.resolve();
  /** The applications being asked to quit before a stop: a second stop meanwhile waits for the same. */
  private quitting: Promise<void> | null = null;

  constructor(private readonly options: CageLifecycleOptions) {
    super();
  }

  get level(): string {
    return this.options.level;
  }

  get state(): CageState {
    return { level: this.options.level, status: this.status, restarts: this.restarts, ...(this.detail ? { detail: this.detail, detailText: cageDetailText(this.detail) } : {}) };
  }

  get cage(): RunningCage | null {
    return this.status === 'running' ? this.running : null;
  }

  /** `detail`: why it starts (a cage not re-adopted says why), shown with its "starting" state. */
  start(detail?: string): Promise<void> {
    if (this.status === 'starting' || this.status === 'running') return Promise.resolve();
    const run = this.startOnce(detail);
    this.lastStart = run.catch(() => undefined);
    return run;
  }

  private async startOnce(detail?: string): Promise<void> {
    if (this.status === 'starting' || this.status === 'running') return;
    this.clearRestartTimer();
    const generation = ++this.generation;
    this.transition('starting', detail);
    let cage: RunningCage;
    try {
      cage = await this.options.driver.start();
    } catch (err) {
      if (generation !== this.generation) return;
      this.crashed((err as Error).message, err instanceof MissingBinaryError);
      return;
    }
    if (generation !== this.generation) {
      await cage.stop(); // stop() was called while starting
      return;
    }
    this.running = cage;
    this.startedAt = (this.options.now ?? Date.now)();
    this.transition('running');
    // A limit reached while running: the cage keeps running, and says so in its state's detail,
    // one note per limit (a limit whose condition passed takes only its own note away).
    const notes = new Map<CageNotice['limit'], string>();
    cage.onNotice?.((notice) => {
      if (generation !== this.generation || this.status !== 'running') return;
      if (notice.message) notes.set(notice.limit, notice.message);
      else notes.delete(notice.limit);
      this.detail = [...notes.values()].join('; ') || undefined;
      this.emit('notice', this.state, notice);
    });
    void cage.exited.then((exit) => {
      if (generation !== this.generation || this.status !== 'running') return;
      this.running = null;
      this.crashed(exit.reason, false);
    });
  }

  async stop(reason = 'stopped by the supervisor'): Promise<void> {
    // Asked already for this cage (the supervisor's stop asks every level first, shown: stopNotice.ts): not twice.
    if (this.appsAsked !== this.generation) await this.quitApps();
    this.appsAsked = -1;
    this.clearRestartTimer();
    this.generation++;
    const cage = this.running;
    const starting = this.status === 'starting' ? this.lastStart : null;
    this.running = null;
    if (this.status !== 'stopped') this.transition('stopped', reason);
    await cage?.stop();
    // A cage stopped while it started is stopped once started: nothing outlives a stop.
    await starting;
  }

  /** The applications asked to quit ahead of the stop that follows (it does not ask again); false when there was nothing to ask. */
  async quitAppsBeforeStop(): Promise<boolean> {
    const asking = this.asksAppsOnStop;
    await this.quitApps();
    this.appsAsked = this.generation;
    return asking;
  }

  /** Whether a stop of this cage now would ask its applications to quit (a running cage of ours, a bound over 0). */
  get asksAppsOnStop(): boolean {
    return this.status === 'running' && Boolean(this.running?.quitApps) && (this.options.appQuitMs?.() ?? 0) > 0;
  }

  /** A running cage's applications asked to quit, within the bound; the outcome goes to 'appsQuit' listeners. */
  private quitApps(): Promise<void> {
    const cage = this.status === 'running' ? this.running : null;
    const timeoutMs = this.options.appQuitMs?.() ?? 0;
    if (!cage?.quitApps || timeoutMs <= 0) return this.quitting ?? Promise.resolve();
    this.quitting ??= cage
      .quitApps(timeoutMs)
      .then((outcome) => void this.emit('appsQuit', this.state, outcome))
      .catch(() => undefined)
      .finally(() => (this.quitting = null));
    return this.quitting;
  }

  /** A new cage definition (policy reload): stops the cage, then starts it with the new driver. */
  async replaceDriver(driver: CageDriver, reason: string): Promise<void> {
    await this.stop(reason);
    this.options.driver = driver;
    this.consecutiveCrashes = 0;
    await this.start();
  }

  /** A cage found running at start (cageAdoption.ts): running at once, watched like one started here. */
  async adopt(cage: RunningCage): Promise<void> {
    const driver = this.options.driver;
    this.options.driver = { start: () => Promise.resolve(cage) };
    try {
      await this.start();
    } finally {
      this.options.driver = driver;
    }
  }

  /** A user's retry: resets the crash counter and starts now. */
  async retry(): Promise<void> {
    this.consecutiveCrashes = 0;
    if (this.status === 'running') {
      await this.stop('restarted by the user');
    }
    await this.start();
  }

  private crashed(reason: string, permanent: boolean): void {
    const now = (this.options.now ?? Date.now)();
    if (this.startedAt && now - this.startedAt > (this.options.healthyAfterMs ?? 60_000)) this.consecutiveCrashes = 0;
    this.consecutiveCrashes++;
    this.transition('crashed', reason);
    const max = this.options.maxConsecutiveCrashes ?? 5;
    if (permanent || this.consecutiveCrashes >= max) return;
    const delay = Math.min((this.options.initialBackoffMs ?? 1000) * 2 ** (this.consecutiveCrashes - 1), this.options.maxBackoffMs ?? 30_000);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restarts++;
      void this.start();
    }, delay);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  private transition(to: CageStatus, detail?: string): void {
    if (!ALLOWED[this.status].includes(to)) throw new Error(`cage ${this.options.level}: illegal transition ${this.status} → ${to}`);
    this.status = to;
    this.detail = detail?.slice(0, 500);
    this.emit('status', this.state);
  }
}
