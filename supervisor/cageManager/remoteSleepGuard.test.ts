/**
 * The part's lock before sleep after its manager restarted: the new manager holds no inhibitor
 * until asked, so once the wait fails with a lost connection the part asks `sleep.inhibit` again
 * (otherwise nothing delays the sleep until the next unlock, and the screen sleeps unlocked).
 */
import { describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import type { ManagerRequester } from './managerLink';
import { RemoteSleepGuard } from './remoteSleepGuard';

describe('RemoteSleepGuard across a manager restart', () => {
  it('holds the inhibitor again once the connection was lost, then watches again', async () => {
    const asked: string[] = [];
    let secondHold!: () => void;
    const heldAgain = new Promise<void>((resolve) => (secondHold = resolve));
    let waits = 0;
    const client: ManagerRequester = {
      closed: false,
      request: (async (req: { op: string }) => {
        asked.push(req.op);
        if (req.op === 'sleep.inhibit') {
          if (asked.filter((op) => op === 'sleep.inhibit').length === 2) secondHold();
          return { state: 'logind' };
        }
        // The first wait: the manager restarting; later ones stay pending, as a wait does until sleep.
        if (++waits === 1) throw new CloisonError('CONNECTION_LOST', 'the cage manager closed the connection');
        return new Promise(() => undefined);
      }) as ManagerRequester['request'],
    };
    const guard = new RemoteSleepGuard({ client, onSleep: () => undefined, retryMs: 0 });
    guard.start();
    await heldAgain;
    guard.stop();
    expect(asked.slice(0, 2)).toEqual(['sleep.inhibit', 'sleep.wait']);
    expect(asked.filter((op) => op === 'sleep.inhibit')).toHaveLength(2);
    expect(guard.state).toBe('logind');
  }, 10_000);
});
