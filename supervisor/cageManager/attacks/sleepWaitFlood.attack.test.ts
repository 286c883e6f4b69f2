/**
 * `sleep.wait` asked as a compromised `cloison` part would, on the real manager socket: the request
 * with a field slipped in is refused and journaled; twenty waits at once hold at most the lane's
 * bound (the rest answered BUSY, journaled once), every other request is still answered while they
 * pend, and one announced sleep answers every pending wait, once, with the one fact (nothing else
 * the manager knows rides on it). The executor keeps one wait however many are asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../policy/policyLoader';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { appRunningExecutor } from '../appRunningExecutor';
import { DEFAULT_MAX_IN_FLIGHT } from '../cageManagerServer';
import { sleepWaitExecutor } from '../sleepWaitExecutor';

let manager: ServedManager;
const sleepWait = sleepWaitExecutor();

beforeAll(async () => {
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58831 }), high: bwrapCage({ uid: 58832 }) }), 'p.yaml');
  manager = await serveManagerToCloison({
    prefix: 'cloison-sw-',
    policy: () => policy,
    executors: () => ({ 'sleep.wait': sleepWait, 'app.running': appRunningExecutor({ policy: () => policy, launcherOf: () => null }) }),
  });
}, 30_000);

afterAll(async () => {
  await manager?.close();
});

describe('sleep.wait flooded by the part', () => {
  it('a field slipped in is refused; past the bound BUSY; other requests answered meanwhile; one sleep answers every pending wait once', async () => {
    const waits = Array.from({ length: 20 }, (_, i) => ({ json: { id: 10 + i, request: { op: 'sleep.wait' } } }));
    const asking = sendFramesAs(manager.cloison, manager.socketPath, [
      { json: { id: 1, request: { op: 'sleep.wait', level: 'low' } } },
      ...waits,
      { json: { id: 2, request: { op: 'app.running', level: 'low' } } },
      { json: { id: 3, request: { op: 'sleep.wait', level: 'high' } } },
    ]);
    // The refusals are journaled as they are answered; the waits within the bound pend until the sleep.
    // The sleep is announced once the last frame's refusal is journaled: every wait has then been read
    // (frames are taken in order), so none is let in by the slots the announcement frees.
    const slippedIn = () => manager.refusals().filter((r) => r.op === 'sleep.wait' && /not a root request/.test(String(r.reason))).length;
    await waitFor(() => manager.refusals().some((r) => r.op === 'sleep.wait' && /busy/.test(String(r.reason))) && slippedIn() === 2, 'the refusals', 10_000);
    sleepWait.announce();
    const { replies } = (await asking) as { replies: Array<{ id: number; ok: boolean; result?: unknown; error?: { code: string } }> };
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(byId.get(3)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(byId.get(2)).toMatchObject({ ok: true, result: { programs: [] } });
    const answered = replies.filter((r) => r.id >= 10 && r.ok);
    expect(answered).toHaveLength(DEFAULT_MAX_IN_FLIGHT);
    for (const r of answered) expect(r.result).toEqual({ sleeping: true });
    expect(replies.filter((r) => r.id >= 10 && !r.ok).map((r) => r.error!.code)).toEqual(Array(20 - DEFAULT_MAX_IN_FLIGHT).fill('BUSY'));
    // Each wait answered once: 23 frames, 23 replies.
    expect(replies).toHaveLength(23);
    // The burst of BUSY is journaled once, not once per request.
    expect(manager.refusals().filter((r) => /busy/.test(String(r.reason)))).toHaveLength(1);
  }, 30_000);
});
