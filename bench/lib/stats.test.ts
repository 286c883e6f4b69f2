import { describe, expect, it } from 'vitest';
import { median, percentile } from './stats';

describe('benchmark statistics', () => {
  it('takes the middle of an odd count and the mean of the two middle values of an even one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([1.17, 1.21, 0.98, 1.10])).toBeCloseTo(1.135, 10);
    expect(median([])).toBeNaN();
  });

  it('keeps percentiles on the nearest-rank rule', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });
});
