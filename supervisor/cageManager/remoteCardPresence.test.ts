/**
 * The part's watch of the reader across a manager restart: the new manager counts its changes from
 * nothing, so after a lost connection the part asks without `after` and compares the serials with
 * the ones it knew — a card pulled out while the manager was away still reaches the broker as a
 * removal (its sessions end, smartcard.removed journaled), and one put back as an insertion. While
 * the part's policy has no card, nothing is asked.
 */
import { describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import type { CardChange } from '../smartcard/cardPresence';
import type { ManagerRequester } from './managerLink';
import { RemoteCardPresence } from './remoteCardPresence';

/** A manager answering card.presence from a script; the requests it got, as sent. */
function scriptedManager(steps: Array<(req: { after?: number }) => Promise<unknown>>): { client: ManagerRequester; asked: Array<{ after?: number }> } {
  const asked: Array<{ after?: number }> = [];
  const client: ManagerRequester = {
    closed: false,
    request: ((req: { op: string; after?: number }) => {
      expect(req.op).toBe('card.presence');
      asked.push(req.after === undefined ? {} : { after: req.after });
      const step = steps.shift();
      return step ? step(req) : new Promise(() => undefined);
    }) as ManagerRequester['request'],
  };
  return { client, asked };
}

describe('RemoteCardPresence', () => {
  it('a card pulled out while the manager restarted is still a removal; put back, an insertion', async () => {
    const changes: CardChange[] = [];
    let third!: () => void;
    const sawThree = new Promise<void>((resolve) => (third = resolve));
    const { client, asked } = scriptedManager([
      async () => ({ seq: 1, present: ['S1'] }),
      async () => Promise.reject(new CloisonError('CONNECTION_LOST', 'the cage manager closed the connection')),
      // The new manager's first listing: no card, its count from nothing.
      async () => ({ seq: 1, present: [] }),
      async () => ({ seq: 2, present: ['S1'] }),
    ]);
    const watch = new RemoteCardPresence({
      client,
      change: (c) => {
        changes.push(c);
        if (changes.length === 3) third();
      },
      retryMs: 0,
    });
    watch.start();
    await sawThree;
    watch.stop();
    expect(asked).toEqual([{}, { after: 1 }, {}, { after: 1 }, { after: 2 }]);
    expect(changes).toEqual([
      { removed: [], inserted: [], present: ['S1'] },
      { removed: ['S1'], inserted: [], present: [] },
      { removed: [], inserted: ['S1'], present: ['S1'] },
    ]);
  }, 10_000);

  it('nothing asked while the part\'s policy has no card', async () => {
    const { client, asked } = scriptedManager([]);
    let checks = 0;
    let tenth!: () => void;
    const checked = new Promise<void>((resolve) => (tenth = resolve));
    const watch = new RemoteCardPresence({ client, change: () => undefined, retryMs: 0, active: () => (++checks === 10 && tenth(), false) });
    watch.start();
    await checked;
    watch.stop();
    expect(asked).toEqual([]);
  }, 10_000);
});
