/**
 * The supervisor's stop shown while it waits (stopNotice.ts): every running level's applications
 * asked at once, the shell told which levels are still closing and the longest bound, each level
 * taken off as its wait ends; the cages' stop that follows does not ask again; nothing is disposed
 * of (the shell's sockets, the viewers) before the waits end; kept cages: nothing asked, nothing shown.
 */
import { describe, expect, it } from 'vitest';
import type { StoppingView } from '../../shared/rpc';
import type { CageDriver, CageExit } from '../cages/cageDriver';
import { CageLifecycle } from '../cages/cageLifecycle';
import { quitAppsThen, StoppingState } from './stopNotice';

/** A cage whose applications take `quitMs` to close (a user answering "save changes?"). */
function cage(level: string, quitMs: number, bound: number, asked: string[]): CageLifecycle {
  const driver: CageDriver = {
    start: async () => ({
      endpoint: { path: '/nonexistent' },
      innerPid: null,
      exited: new Promise<CageExit>(() => undefined),
      stop: async () => undefined,
      quitApps: async () => {
        asked.push(level);
        await new Promise((r) => setTimeout(r, quitMs));
        return { outcome: 'all quit', windows: 1, windowsLeft: 0, programsLeft: 0, waitedMs: quitMs };
      },
    }),
  };
  return new CageLifecycle({ level, driver, appQuitMs: () => bound });
}

describe("the supervisor's stop, shown", () => {
  it('shows the levels still closing and the longest bound, one level taken off as its wait ends; disposes only after; the cages are not asked twice', async () => {
    const asked: string[] = [];
    const cages = new Map([
      ['low', cage('low', 20, 10_000, asked)],
      ['high', cage('high', 300, 25_500, asked)],
      ['idle', cage('idle', 0, 10_000, asked)],
    ]);
    await cages.get('low')!.start();
    await cages.get('high')!.start(); // 'idle' is not running: nothing to ask there
    const shown: StoppingView[] = [];
    const order: string[] = [];
    const bounds: Record<string, number> = { low: 10_000, high: 25_500, idle: 10_000 };
    await quitAppsThen({ cages, quitMs: (l) => bounds[l]!, show: (v) => (shown.push(v), order.push(`shown ${v.closing.join(',')}`)) }, async () => {
      order.push('disposed');
      await Promise.all([...cages.values()].map((c) => c.stop('supervisor shutting down')));
    });
    expect(shown).toEqual([
      { seconds: 26, closing: ['low', 'high'] },
      { seconds: 26, closing: ['high'] },
      { seconds: 26, closing: [] },
    ]);
    expect(order.at(-1)).toBe('disposed');
    expect(asked.sort()).toEqual(['high', 'low']); // once each: the cages' own stop did not ask again
    expect(cages.get('high')!.state.status).toBe('stopped');
  });

  it('cages kept for the next supervisor: nothing asked, nothing shown', async () => {
    const asked: string[] = [];
    const low = cage('low', 10, 10_000, asked);
    await low.start();
    let disposed = false;
    await quitAppsThen(null, async () => void (disposed = true));
    expect(disposed).toBe(true);
    expect(asked).toEqual([]);
    await low.stop();
    expect(asked).toEqual(['low']); // a later stop of its own asks as before
  });

  it('a cage asked ahead, then started again, is asked again at its next stop', async () => {
    const asked: string[] = [];
    const low = cage('low', 5, 10_000, asked);
    await low.start();
    await low.quitAppsBeforeStop();
    await low.stop();
    await low.start();
    await low.stop();
    expect(asked).toEqual(['low', 'low']);
  });
});

describe('the stop, for a shell that comes during it (StoppingState)', () => {
  it('none before the stop; then the last view shown, with the time since the stop began; every view still broadcast', async () => {
    let now = 1_000_000;
    const broadcast: StoppingView[] = [];
    const state = new StoppingState((v) => broadcast.push(v), () => now);
    expect(state.view()).toBeNull();
    const asked: string[] = [];
    const cages = new Map([
      ['low', cage('low', 10, 10_000, asked)],
      ['high', cage('high', 200, 25_000, asked)],
    ]);
    await Promise.all([...cages.values()].map((c) => c.start()));
    let midway: StoppingView | null = null;
    const stopping = quitAppsThen({ cages, quitMs: () => 25_000, show: state.show }, async () => {
      await Promise.all([...cages.values()].map((c) => c.stop()));
    });
    await new Promise((r) => setTimeout(r, 60)); // low has closed, high is still asked
    now += 7_400;
    midway = state.view();
    await stopping;
    expect(broadcast).toEqual([
      { seconds: 25, closing: ['low', 'high'] },
      { seconds: 25, closing: ['high'] },
      { seconds: 25, closing: [] },
    ]);
    // What a shell reloaded midway is handed (session.describe): high still closing, 7.4 s in.
    expect(midway).toEqual({ seconds: 25, closing: ['high'], elapsedMs: 7_400 });
    now += 1_000;
    expect(state.view()).toEqual({ seconds: 25, closing: [], elapsedMs: 8_400 });
  });
});
