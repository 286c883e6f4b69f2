/**
 * The supervisor's stop, shown while it waits: before anything is disposed of (the shell's sockets,
 * the viewers' gateway, the cages), every running level's applications are asked to close at once,
 * each up to its `appQuitSeconds`, and the shell is told (`onStopping`) which levels are still
 * closing and for how long at most. The shell, the band and the viewers keep working meanwhile, so
 * the user sees why Cloison has not stopped yet and can switch to a level whose application asks
 * "save changes?" and answer it. The cages' own stop that follows does not ask again
 * (CageLifecycle.quitAppsBeforeStop).
 *
 * What the shell is told is made here, from the supervisor's own state (which cages run, the policy's
 * bounds, which waits ended); nothing a cage says reaches it.
 */
import type { StoppingView } from '../../shared/rpc';
import type { CageLifecycle } from '../cages/cageLifecycle';

export interface StopNoticeParts {
  cages: ReadonlyMap<string, CageLifecycle>;
  /** A level's bound, in ms (appQuitMsOf under the running policy). */
  quitMs: (level: string) => number;
  show: (view: StoppingView) => void;
}

/**
 * The stop as it was last shown, kept for a shell that comes during the wait (a page reloaded, a
 * renderer that came back, a second shell session): session.describe hands it over, with how long
 * ago the stop began, so that shell shows the strip and the levels' "closing" marks as one that was
 * there from the start. The supervisor's own state: only what `show` was given here.
 */
export class StoppingState {
  private last: { view: StoppingView; began: number } | null = null;

  constructor(
    private readonly broadcast: (view: StoppingView) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Shown to every shell connected now, and kept for the ones that come later. */
  readonly show = (view: StoppingView): void => {
    this.last = { view, began: this.last?.began ?? this.now() };
    this.broadcast(view);
  };

  /** The last view shown, with the time since the stop began; null: no stop under way. */
  view(): StoppingView | null {
    if (!this.last) return null;
    return { ...this.last.view, elapsedMs: Math.min(600_000, Math.max(0, Math.round(this.now() - this.last.began))) };
  }
}

/** Asks every running level's applications to close, showing the wait; resolves once every level's wait ended. */
export async function quitAppsShown(parts: StopNoticeParts): Promise<void> {
  const asking = [...parts.cages.values()].filter((c) => c.asksAppsOnStop);
  const closing = new Set(asking.map((c) => c.level));
  const seconds = Math.min(120, Math.ceil(Math.max(0, ...asking.map((c) => parts.quitMs(c.level))) / 1000));
  const show = () => parts.show({ seconds, closing: [...closing] });
  show();
  await Promise.all(
    asking.map(async (c) => {
      await c.quitAppsBeforeStop().catch(() => false);
      closing.delete(c.level);
      show();
    }),
  );
}

/** The supervisor's stop: the applications asked first, shown (none when the cages are kept for the next supervisor: `parts` null), then `dispose`. */
export async function quitAppsThen(parts: StopNoticeParts | null, dispose: () => Promise<void>): Promise<void> {
  if (parts) await quitAppsShown(parts);
  await dispose();
}
