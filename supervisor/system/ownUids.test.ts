/**
 * The sandboxes' own uids: each call a uid not given before (within a million), inside its kind's
 * range, the ranges apart from each other and from every uid an account or a cage can have.
 */
import { describe, expect, it } from 'vitest';
import { CONVERTER_UIDS, isInRange, ownUids, X_HELPER_UIDS } from './ownUids';

describe('own uids', () => {
  it('gives each run a uid of its range not given before', () => {
    for (const range of [CONVERTER_UIDS, X_HELPER_UIDS]) {
      const next = ownUids(range);
      const given = Array.from({ length: 10_000 }, next);
      expect(new Set(given).size).toBe(given.length);
      expect(given.every((uid) => isInRange(uid, range))).toBe(true);
    }
  });

  it('keeps the ranges apart, above any cage uid (65533 at most) and below (uid_t)-1', () => {
    expect(CONVERTER_UIDS.base + CONVERTER_UIDS.size).toBeLessThanOrEqual(X_HELPER_UIDS.base);
    expect(CONVERTER_UIDS.base).toBeGreaterThan(65_533);
    expect(X_HELPER_UIDS.base + X_HELPER_UIDS.size).toBeLessThan(2 ** 32 - 1);
  });
});
