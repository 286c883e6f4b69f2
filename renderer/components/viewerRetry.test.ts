import { describe, expect, it } from 'vitest';
import { createViewerRetry, GOOD_FRAME_MS, nextAfterUnreachable, RETRY_FIRST_MS, RETRY_MAX_MS, UNREACHABLE_FIRST_MS } from './viewerRetry';

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

  describe('a viewer that ends unreachable (handshake-12b)', () => {
    it('a display that keeps failing (a wrong version): a handful of attempts in 30 s, not one a second, said as a back-off after the first', () => {
      let t = 0;
      const retry = createViewerRetry(() => t);
      const attempts: number[] = [0];
      const said: boolean[] = [];
      // Each attempt fails at once (the version refused): the next one after the wait it is given.
      while (t < 30_000) {
        const { waitMs, backingOff } = nextAfterUnreachable(retry);
        said.push(backingOff);
        t += waitMs;
        if (t < 30_000) attempts.push(t);
      }
      expect(attempts).toEqual([0, UNREACHABLE_FIRST_MS, UNREACHABLE_FIRST_MS + RETRY_FIRST_MS, UNREACHABLE_FIRST_MS + 3 * RETRY_FIRST_MS, UNREACHABLE_FIRST_MS + 7 * RETRY_FIRST_MS]);
      expect(said[0], 'the first quick attempt is no back-off').toBe(false);
      expect(said.slice(1).every(Boolean)).toBe(true);
      expect(nextAfterUnreachable(retry).waitMs, 'bounded').toBeLessThanOrEqual(RETRY_MAX_MS);
      for (let i = 0; i < 10; i++) nextAfterUnreachable(retry);
      expect(nextAfterUnreachable(retry).waitMs).toBe(RETRY_MAX_MS);
    });

    it('starts again after a connection that lasted, not after a short one, nor by itself', () => {
      let t = 0;
      const retry = createViewerRetry(() => t);
      nextAfterUnreachable(retry);
      expect(nextAfterUnreachable(retry)).toEqual({ waitMs: RETRY_FIRST_MS, backingOff: true });
      // Connected, and ended unreachable seconds later: still the back-off.
      retry.connected();
      t += 5000;
      expect(nextAfterUnreachable(retry)).toEqual({ waitMs: 2 * RETRY_FIRST_MS, backingOff: true });
      // Connected for longer than a good frame (a cage restarted after hours): a first quick attempt.
      retry.connected();
      t += GOOD_FRAME_MS;
      expect(nextAfterUnreachable(retry)).toEqual({ waitMs: UNREACHABLE_FIRST_MS, backingOff: false });
      // The user's Reconnect starts it again too.
      nextAfterUnreachable(retry);
      retry.reset();
      expect(nextAfterUnreachable(retry).backingOff).toBe(false);
    });

    it('shares its count with stops: a display that fails one way then the other is not given a fresh start', () => {
      const retry = createViewerRetry(() => 0);
      expect(retry.stopped()).toBe(0);
      expect(nextAfterUnreachable(retry)).toEqual({ waitMs: RETRY_FIRST_MS, backingOff: true });
      expect(retry.stopped()).toBe(2 * RETRY_FIRST_MS);
    });
  });
});
