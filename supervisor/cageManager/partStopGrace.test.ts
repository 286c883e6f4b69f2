/** The manager's stop gives its part the longest of the levels' appQuitSeconds and a margin (partStopGrace.ts). */
import { describe, expect, it } from 'vitest';
import type { LevelPolicy } from '../../shared/policy';
import { DEFAULT_APP_QUIT_SECONDS } from '../cages/appQuit';
import { PART_STOP_MARGIN_MS, partStopGraceMs } from './partStopGrace';

const bwrap = (id: string, appQuitSeconds?: number) => ({ id, cage: { driver: 'bwrap', ...(appQuitSeconds === undefined ? {} : { appQuitSeconds }) } }) as unknown as LevelPolicy;
const vnc = (id: string) => ({ id, cage: { driver: 'vnc' } }) as unknown as LevelPolicy;

describe('partStopGraceMs', () => {
  it('the longest level\'s bound (each level waits at once) and the margin: more than the 3 s a part gets otherwise', () => {
    expect(partStopGraceMs([bwrap('low', 5), bwrap('high', 60)])).toBe(60_000 + PART_STOP_MARGIN_MS);
    expect(partStopGraceMs([bwrap('low'), bwrap('high')])).toBe(DEFAULT_APP_QUIT_SECONDS * 1000 + PART_STOP_MARGIN_MS);
  });
  it('levels that wait for nothing (appQuitSeconds: 0, a vnc level): the margin alone', () => {
    expect(partStopGraceMs([bwrap('low', 0), vnc('remote')])).toBe(PART_STOP_MARGIN_MS);
    expect(partStopGraceMs([])).toBe(PART_STOP_MARGIN_MS);
  });
});
