/**
 * The per-viewer byte budget: a burst goes at once, a steady stream within the rate never waits,
 * and past the budget the wait is exactly what refills the deficit.
 */
import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byteBudget';
import { manualClock } from '../testing/manualClock';

const MiB = 2 ** 20;

describe('byte budget', () => {
  it('lets a burst go at once, then makes the reader wait what refills the deficit', () => {
    const c = manualClock();
    const budget = new ByteBudget({ bytesPerSecond: 10 * MiB, burstBytes: 4 * MiB }, c.now);
    expect(budget.spend(4 * MiB)).toBe(0); // the burst
    expect(budget.spend(MiB)).toBeCloseTo(100, 5); // 1 MiB short at 10 MiB/s
    c.advance(100);
    expect(budget.spend(0)).toBe(0); // refilled to zero exactly
  });

  it('a stream within the rate never waits, and idle time refills no more than the burst', () => {
    const c = manualClock();
    const budget = new ByteBudget({ bytesPerSecond: 10 * MiB, burstBytes: MiB }, c.now);
    for (let i = 0; i < 1000; i++) {
      c.advance(10);
      expect(budget.spend(0.1 * MiB)).toBe(0); // 10 MiB/s in 10 ms steps
    }
    c.advance(60_000); // a minute idle
    expect(budget.spend(MiB)).toBe(0);
    expect(budget.spend(MiB)).toBeCloseTo(100, 5); // only the burst was there
  });
});
