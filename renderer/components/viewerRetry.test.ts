import { describe, expect, it } from 'vitest';
import { createViewerRetry, GOOD_FRAME_MS, RETRY_FIRST_MS, RETRY_MAX_MS } from './viewerRetry';

describe('viewer retry', () => {
  it('replaces a viewer that stopped once at once', () => {
    expect(createViewerRetry(() => 0).stopped()).toBe(0);
  });

  it('waits twice as long at each stop in a row, never longer than the bound, even if each frame connects first', () => {
    let t = 0;
    const retry = createViewerRetry(() => t);
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      // A hostile cage: each new frame connects, then is crashed or hung a few seconds later.
      t += 5000;
      retry.connected();
      t += 3000;
      const wait = retry.stopped();
      waits.push(wait);
      t += wait;
    }
    expect(waits).toEqual([0, RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS, 8 * RETRY_FIRST_MS, 16 * RETRY_FIRST_MS, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS]);
  });

  it('starts again after a good frame (connected and answering long enough), or when the user asks', () => {
    let t = 0;
    const retry = createViewerRetry(() => t);
    retry.stopped();
    expect(retry.stopped()).toBe(RETRY_FIRST_MS);
    retry.connected();
    t += GOOD_FRAME_MS - 1;
    expect(retry.stopped(), 'connected, but not for long').toBe(2 * RETRY_FIRST_MS);
    retry.connected();
    t += GOOD_FRAME_MS;
    expect(retry.stopped(), 'a good frame stopped: a first stop').toBe(0);
    expect(retry.stopped()).toBe(RETRY_FIRST_MS);
    retry.reset();
    expect(retry.stopped(), 'the user reconnected it').toBe(0);
  });
});
