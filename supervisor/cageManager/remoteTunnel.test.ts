/**
 * The part's view of a level's tunnel through `tunnel.status` (remoteTunnel.ts), against a manager
 * whose answers the test writes: what the band is shown, and when the part stops asking. A
 * compromised or confused manager's answer naming another level, or not a view, is not shown as
 * the level's; the reason comes translated; the cage's end and a lost connection end the asking.
 */
import { describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import type { TunnelView } from '../../shared/rpc';
import { waitFor } from '../testing/waitFor';
import { remoteTunnel } from './remoteTunnel';

const view = (fields: Partial<TunnelView>) => ({ level: 'high', state: 'up', handshakeAgeSeconds: 4, endpoint: '192.0.2.1:51820', reason: null, ...fields });

/** A manager answering `answers` in turn (the last one again), counting the asks. */
function manager(answers: Array<unknown | Error>) {
  const asked: string[] = [];
  return {
    asked,
    ask: async (request: { op: string; level: string }) => {
      asked.push(`${request.op} ${request.level}`);
      const answer = answers[Math.min(asked.length - 1, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

describe('a tunnel seen through tunnel.status', () => {
  it("shows the manager's figures for its level only, the reason in both languages", async () => {
    const m = manager([{ tunnel: view({ level: 'low', endpoint: '198.51.100.9:51820' }) }, { tunnel: { ...view({}), privateKey: 'x' } }, { tunnel: view({ state: 'down', handshakeAgeSeconds: 200, reason: 'no handshake for 200 s: nothing leaves this cage' }) }]);
    const tunnel = remoteTunnel({ level: 'high', ask: m.ask, running: () => true, pollMs: 5 });
    const shown: TunnelView[] = [];
    tunnel.onChange((v) => shown.push(v));
    await waitFor(() => shown.length > 0, 'a view shown');
    expect(m.asked.length).toBeGreaterThanOrEqual(3);
    expect(m.asked.every((a) => a === 'tunnel.status high')).toBe(true);
    // Neither low's view nor one with a field beyond the band's was shown: the first shown is the third answer.
    expect(shown[0]).toEqual({ ...view({ state: 'down', handshakeAgeSeconds: 200, reason: 'no handshake for 200 s: nothing leaves this cage' }), reasonText: { fr: 'aucun échange depuis 200 s : rien ne sort de cette cage', en: 'no handshake for 200 s: nothing leaves this cage' } });
    expect(tunnel.current()).toEqual(shown[0]);
  });

  it('connecting until the first answer; no tunnel answered (the cage not running there): nothing shown', async () => {
    const m = manager([{ tunnel: null }]);
    const tunnel = remoteTunnel({ level: 'high', ask: m.ask, running: () => true, pollMs: 5 });
    const shown: TunnelView[] = [];
    tunnel.onChange((v) => shown.push(v));
    await waitFor(() => m.asked.length >= 3, 'asked three times');
    expect(shown).toEqual([]);
    expect(tunnel.current()).toEqual({ level: 'high', state: 'connecting', handshakeAgeSeconds: null, endpoint: '', reason: null });
  });

  it('asks no more once the connection is lost, nor once the cage has ended', async () => {
    const lost = manager([new CloisonError('CONNECTION_LOST', 'the connection to the cage manager was lost')]);
    remoteTunnel({ level: 'high', ask: lost.ask, running: () => true, pollMs: 5 }).onChange(() => undefined);
    let running = true;
    const ended = manager([{ tunnel: view({}) }]);
    remoteTunnel({ level: 'high', ask: ended.ask, running: () => running, pollMs: 5 }).onChange(() => undefined);
    await waitFor(() => ended.asked.length >= 2, 'the running cage asked');
    running = false;
    const endedAt = ended.asked.length;
    // A witness asking at the same pace: by its tenth ask, both others have had as many chances.
    const witness = manager([{ tunnel: null }]);
    remoteTunnel({ level: 'high', ask: witness.ask, running: () => true, pollMs: 5 }).onChange(() => undefined);
    await waitFor(() => witness.asked.length >= 10, 'the witness asked ten times');
    expect(lost.asked).toHaveLength(1);
    expect(ended.asked.length).toBeLessThanOrEqual(endedAt + 1); // one already under way when it ended
  });
});
