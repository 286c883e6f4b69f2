/**
 * A cage's autostarted applications wait until its desktop has reached the shell: a viewer has
 * connected through the gateway, and the cores have calmed down after its first full frame (at
 * most `capMs` after the cage runs, so a cage nobody watches still gets them). On two cores the
 * applications' own first start (Firefox, LibreOffice: seconds of CPU each) otherwise competes with
 * everything the first frame needs — the cage's X server, the shell's Chromium, the supervisor — and
 * the user looks at an empty shell instead of each level's desktop with its band and launcher.
 * The applications still start as they always do (sessionApps.ts): through the cage's launcher, as
 * true cage processes; only when they start changes.
 */
import { readFileSync } from 'node:fs';
import { parseProcStat, waitForQuietMachine } from '../system/quietMachine';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export interface AppsHoldOptions {
  /** After a viewer connected: the least time given to its first full frame. */
  settleMs?: number;
  /**
   * Then until the cores calm down, the first frame encoded, relayed and drawn (most of a core
   * left idle, 5 s at most: on a loaded machine the first frame took 5 s after its viewer connected).
   */
  quiet?: () => Promise<unknown>;
  /** After the cage runs: the longest the applications wait for a viewer. */
  capMs?: number;
  log?: Log;
}

export const APPS_HOLD_SETTLE_MS = 500;

function coresCalm(): Promise<unknown> {
  return waitForQuietMachine({ busyShare: 0.5, windowMs: 250, maxWaitMs: 5000, read: () => parseProcStat(readFileSync('/proc/stat', 'utf8')) });
}
export const APPS_HOLD_CAP_MS = 10_000;

interface Waiter {
  release: (why: string) => void;
}

export class AppsHold {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly watched = new Set<string>();
  private disposed = false;

  constructor(private readonly options: AppsHoldOptions = {}) {}

  /** Called when a level's cage runs: resolves when its applications may start. */
  until(level: string): Promise<void> {
    if (this.disposed) return Promise.resolve();
    const since = Date.now();
    return new Promise((resolve) => {
      const waiters = this.waiting.get(level) ?? new Set<Waiter>();
      this.waiting.set(level, waiters);
      const waiter: Waiter = {
        release: (why) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(cap);
          if (waiters.size === 0) this.waiting.delete(level);
          this.options.log?.('cage applications starting', { level, after: why, heldMs: Date.now() - since });
          resolve();
        },
      };
      const cap = setTimeout(() => waiter.release('no viewer yet'), this.options.capMs ?? APPS_HOLD_CAP_MS);
      cap.unref();
      waiters.add(waiter);
      if (this.watched.has(level)) this.releaseSoon(level);
    });
  }

  /**
   * The levels a viewer is connected to now (the gateway's list, at each change). A viewer newly
   * connected releases every level still held: the shell shows a desktop, and the level in the
   * back may connect only when it is brought to the front (the shell's Chromium loads a hidden
   * viewer when it sees fit), its applications would otherwise wait for the cap.
   */
  viewers(levels: readonly string[]): void {
    const now = new Set(levels);
    if ([...now].some((level) => !this.watched.has(level))) for (const level of this.waiting.keys()) this.releaseSoon(level);
    this.watched.clear();
    for (const level of now) this.watched.add(level);
  }

  /** Nothing waits any more (the supervisor stops). */
  dispose(): void {
    this.disposed = true;
    for (const waiters of this.waiting.values()) for (const w of [...waiters]) w.release('stopping');
  }

  private releaseSoon(level: string): void {
    const waiters = this.waiting.get(level);
    if (!waiters || waiters.size === 0) return;
    const now = [...waiters];
    const release = () => {
      for (const w of now) w.release('viewer connected');
    };
    setTimeout(() => {
      void (this.options.quiet ?? coresCalm)().then(release, release);
    }, this.options.settleMs ?? APPS_HOLD_SETTLE_MS).unref();
  }
}
