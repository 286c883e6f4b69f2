/**
 * Waiting for a quiet machine: a busy one is waited for, a quiet one is not, and a machine that is
 * never quiet is waited for no longer than the most. Also the real /proc/stat parses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcStat, waitForQuietMachine, type CpuTicks } from './quietMachine';

/** Ticks that grow, each read, by the busy and idle amounts given one after the other (the last repeats). */
function ticks(steps: Array<{ busy: number; idle: number }>): () => CpuTicks {
  let at = { busy: 1000, total: 5000 };
  let i = 0;
  return () => {
    const step = steps[Math.min(i++, steps.length - 1)]!;
    at = { busy: at.busy + step.busy, total: at.total + step.busy + step.idle };
    return at;
  };
}

describe('quiet machine', () => {
  it('parses /proc/stat: busy within total', () => {
    const t = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    expect(t.busy).toBeGreaterThan(0);
    expect(t.total).toBeGreaterThan(t.busy);
    expect(parseProcStat('cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 2 3\n')).toEqual({ busy: 20, total: 100 });
  });

  it('waits while the cores are busy and goes on once they are quiet', async () => {
    // The first read is the start; then two busy windows (90 %), then a quiet one (20 %).
    const read = ticks([{ busy: 0, idle: 0 }, { busy: 180, idle: 20 }, { busy: 180, idle: 20 }, { busy: 40, idle: 160 }]);
    const r = await waitForQuietMachine({ busyShare: 0.5, windowMs: 20, maxWaitMs: 10_000, read });
    expect(r.quiet).toBe(true);
    expect(r.waitedMs).toBeGreaterThanOrEqual(55);
  });

  it('does not wait more than one window on a quiet machine', async () => {
    const r = await waitForQuietMachine({ busyShare: 0.5, windowMs: 20, maxWaitMs: 10_000, read: ticks([{ busy: 0, idle: 0 }, { busy: 10, idle: 190 }]) });
    expect(r).toMatchObject({ quiet: true });
    expect(r.waitedMs).toBeLessThan(1000);
  });

  it('on a machine never quiet, waits the most and no longer', async () => {
    const r = await waitForQuietMachine({ busyShare: 0.5, windowMs: 20, maxWaitMs: 150, read: ticks([{ busy: 0, idle: 0 }, { busy: 200, idle: 0 }]) });
    expect(r.quiet).toBe(false);
    expect(r.waitedMs).toBeGreaterThanOrEqual(150);
    expect(r.waitedMs).toBeLessThan(1000);
  });

  it('stops waiting when aborted', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const r = await waitForQuietMachine({ busyShare: 0.5, windowMs: 20, maxWaitMs: 60_000, read: ticks([{ busy: 0, idle: 0 }, { busy: 200, idle: 0 }]), signal: abort.signal });
    expect(r.quiet).toBe(false);
    expect(r.waitedMs).toBeLessThan(1000);
  });
});
