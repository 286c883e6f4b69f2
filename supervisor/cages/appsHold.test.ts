/**
 * The autostarted applications wait for the shell to show a desktop: released a moment after a
 * viewer connects, or at the cap when none does; never held by a viewer that was already there
 * before a cage restarted, nor after the supervisor stops.
 */
import { describe, expect, it } from 'vitest';
import { AppsHold } from './appsHold';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Promise.resolve();

/** When `promise` settled, ms from now; null if not within `withinMs`. */
async function settledAfter(promise: Promise<void>, withinMs: number): Promise<number | null> {
  const t0 = Date.now();
  return Promise.race([promise.then(() => Date.now() - t0), sleep(withinMs).then(() => null)]);
}

describe('AppsHold', () => {
  it('holds a level until a viewer connects, then a settle time', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 100, capMs: 5000 });
    const low = hold.until('low');
    expect(await settledAfter(low, 300)).toBeNull();
    hold.viewers(['low']);
    const after = await settledAfter(low, 1000);
    expect(after).not.toBeNull();
    expect(after!).toBeGreaterThanOrEqual(90);
  });

  it('one viewer releases the level in the back too (its viewer may connect only when shown)', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 50, capMs: 5000 });
    const low = hold.until('low');
    const high = hold.until('high');
    hold.viewers(['low']);
    expect(await settledAfter(Promise.all([low, high]).then(() => undefined), 1000)).not.toBeNull();
  });

  it('releases at the cap when no viewer ever connects (a cage nobody watches still gets its applications)', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 50, capMs: 200 });
    const after = await settledAfter(hold.until('low'), 2000);
    expect(after).not.toBeNull();
    expect(after!).toBeGreaterThanOrEqual(190);
  });

  it('a cage restarted while its viewer is listed waits only the settle time', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 50, capMs: 5000 });
    hold.viewers(['low']);
    expect(await settledAfter(hold.until('low'), 1000)).not.toBeNull();
  });

  it('a viewer list that does not change releases nothing; a new viewer does', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 50, capMs: 5000 });
    hold.viewers(['low']);
    const high = hold.until('high');
    hold.viewers(['low']);
    expect(await settledAfter(high, 300)).toBeNull();
    hold.viewers(['low', 'high']);
    expect(await settledAfter(high, 1000)).not.toBeNull();
  });

  it('after a viewer connected, waits for the cores to calm down (the first frame drawn)', async () => {
    let calm: () => void = () => undefined;
    const hold = new AppsHold({ quiet: () => new Promise<void>((r) => (calm = r)), settleMs: 10, capMs: 5000 });
    const low = hold.until('low');
    hold.viewers(['low']);
    expect(await settledAfter(low, 300)).toBeNull();
    calm();
    expect(await settledAfter(low, 300)).not.toBeNull();
  });

  it('stopping releases everything at once, and nothing is held after', async () => {
    const hold = new AppsHold({ quiet: now, settleMs: 5000, capMs: 5000 });
    const low = hold.until('low');
    hold.dispose();
    expect(await settledAfter(low, 100)).not.toBeNull();
    expect(await settledAfter(hold.until('high'), 100)).not.toBeNull();
  });
});
