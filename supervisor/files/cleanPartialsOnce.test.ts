/**
 * The partial transfers a killed supervisor left are cleaned once: a while after the part's start
 * (fileStaging.ts) or by the first transfer, whichever asks first; the second asker waits for the
 * same clean rather than running another beside a commit.
 */
import { describe, expect, it } from 'vitest';
import { FileBroker } from './fileBroker';

/** A broker whose cleanPartials is counted and held until released. */
function countedBroker(fails = false) {
  const broker = Object.create(FileBroker.prototype) as FileBroker;
  let runs = 0;
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  (broker as unknown as { cleanPartials: () => Promise<void> }).cleanPartials = async () => {
    runs++;
    await held;
    if (fails) throw new Error('no file helper');
  };
  return { broker, runs: () => runs, release };
}

describe('FileBroker.cleanPartialsOnce', () => {
  it('runs the clean once however many ask, each waiting for it to end', async () => {
    const { broker, runs, release } = countedBroker();
    let firstDone = false;
    const first = broker.cleanPartialsOnce().then(() => (firstDone = true));
    const second = broker.cleanPartialsOnce();
    await new Promise((r) => setTimeout(r, 20));
    expect(firstDone).toBe(false); // still cleaning: a transfer asking now waits
    release();
    await Promise.all([first, second]);
    await broker.cleanPartialsOnce();
    expect(runs()).toBe(1);
  });

  it('a failed clean is said to the first asker and does not stop the next ones', async () => {
    const { broker, release } = countedBroker(true);
    const said: string[] = [];
    const first = broker.cleanPartialsOnce((err) => said.push(err.message));
    release();
    await first;
    await expect(broker.cleanPartialsOnce()).resolves.toBeUndefined();
    expect(said).toEqual(['no file helper']);
  });
});
