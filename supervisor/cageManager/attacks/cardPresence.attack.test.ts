/**
 * The card pulled out over the split, against a compromised `cloison` part, with the real manager
 * (its executors, its server) and a real SoftHSM2 token (its folder moved out of the token
 * directory is the card pulled out, moved back the card put back):
 *
 *   - a part that asks only for high's proxy, never `card.presence`: once the card is pulled, the
 *     session opened on the proxy before ends, and a new pkcs11proxyd serves — the manager restarted
 *     it itself;
 *   - twenty `card.presence` waits at once hold at most the lane's bound (the rest BUSY, journaled
 *     once), a wait with a field slipped in is refused, another request is answered meanwhile, and
 *     the card pulled answers every pending wait once, with the count and the serials only;
 *   - with no `smartcard:` in the running policy, card.presence is refused.
 */
import { readdirSync, readFileSync, renameSync, mkdirSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../../testing/skipWithReason';
import { parsePolicy } from '../../policy/policyLoader';
import { cardProxyPaths } from '../../smartcard/levelCardProxy';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest } from '../../testing/cardFixture';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { waitFor } from '../../testing/waitFor';
import { DEFAULT_MAX_IN_FLIGHT } from '../cageManagerServer';
import type { CardPresenceAnswer } from '../cardPresenceWatch';
import { ManagedCages } from '../managedCages';
import { authorizeRootRequest } from '../requestAuthorization';

const missing = missingForCardTest('card presence attack test', { cages: false });

const BASE = 54_800 + (process.pid % 50) * 4;
const PROXY_UID = BASE;
const UIDS = { low: BASE + 2, high: BASE + 3 };
const ROOT_PEER = { uid: 0, gid: 0, pid: process.pid };

let root: string;
let manager: ServedManager;
let policyText: string;
const cages = new ManagedCages();

const socketPath = () => manager.socketPath;
const tokens = () => join(root, 'token', 'tokens');
const pulledDir = () => join(root, 'pulled');

/** SoftHSM2's card in the reader is its token's folder in the token directory. */
function pull(): () => void {
  const [folder] = readdirSync(tokens());
  mkdirSync(pulledDir(), { recursive: true });
  renameSync(join(tokens(), folder!), join(pulledDir(), folder!));
  return () => renameSync(join(pulledDir(), folder!), join(tokens(), folder!));
}

/** The pids of the pkcs11proxyd processes the manager runs from its card folder. */
function proxyPids(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcs11proxyd' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${root}/run-card/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const presence = (req: { after?: number }) => manager.table!.executors['card.presence']!({ op: 'card.presence', ...req }, ROOT_PEER) as Promise<CardPresenceAnswer>;

beforeAll(async () => {
  if (missing.length) return;
  let token;
  ({ root, token } = cardTestRoot('cloison-cardpresence-', PROXY_UID));
  policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }));
  manager = await serveManagerToCloison({ root, policy: () => parsePolicy(policyText, 'p.yaml'), cages, holdsCage: true, table: { part: () => null, cardPollMs: 200 } });
}, 60_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe('the card pulled out, the manager\'s watch', skipWhenMissing(missing), () => {
  it('a part that never asks card.presence: the session opened before the card was pulled ends, a new proxy serves', async () => {
    const started = await sendFramesAs(manager.cloison, socketPath(), [{ json: { id: 1, request: { op: 'card.proxy', level: 'high', action: 'start' } } }]);
    expect(started.replies).toEqual([{ id: 1, ok: true, result: { running: true } }]);
    // The manager's first listing, the card in the reader (asked here by the test, not by the part).
    const first = await presence({});
    expect(first.present).toHaveLength(1);
    const before = proxyPids();
    expect(before.length).toBeGreaterThan(0);
    // A session on the card: a connection to high's proxy, a worker of its own.
    const session: Socket = createConnection({ path: cardProxyPaths(join(root, 'run-card', 'high')).innerSocket });
    let ended = false;
    session.on('close', () => (ended = true)).on('error', () => undefined);
    await new Promise<void>((resolve, reject) => session.once('connect', resolve).once('error', reject));
    const putBack = pull();
    try {
      await waitFor(() => ended, 'the session on the pulled card to end', 15_000);
      await waitFor(() => proxyPids().length > 0 && proxyPids().every((pid) => !before.includes(pid)), 'a new pkcs11proxyd', 15_000);
      // The manager counts the pull once its restart is done (the new proxy may serve before): the
      // card goes back only then, or a loaded machine sees the put back while the pull is still counting.
      expect(await presence({ after: first.seq })).toEqual({ seq: first.seq + 1, present: [] });
    } finally {
      putBack();
    }
    // The put back counted too: the next test starts from a count no change of this one still moves.
    expect(await presence({ after: first.seq + 1 })).toEqual({ seq: first.seq + 2, present: first.present });
  }, 60_000);

  it('a flood of waits holds its lane; the card pulled answers every pending wait once, with the count and the serials', async () => {
    // The first test ends once the manager has counted its pull and its put back (or, run alone,
    // this is the first listing): the card is in, and only this test's pull can move the count.
    const now = await presence({});
    expect(now.present).toHaveLength(1);
    const waits = Array.from({ length: 20 }, (_, i) => ({ json: { id: 10 + i, request: { op: 'card.presence', after: now.seq } } }));
    const asking = sendFramesAs(manager.cloison, socketPath(), [{ json: { id: 1, request: { op: 'card.presence', after: now.seq, level: 'high' } } }, ...waits, { json: { id: 2, request: { op: 'app.running', level: 'low' } } }]);
    await waitFor(() => manager.refusals().some((r) => r.op === 'card.presence' && /busy/.test(String(r.reason))) && manager.refusals().some((r) => r.op === 'card.presence' && /not a root request/.test(String(r.reason))), 'the refusals', 10_000);
    const putBack = pull();
    let replies: Array<{ id: number; ok: boolean; result?: unknown; error?: { code: string } }>;
    try {
      ({ replies } = (await asking) as { replies: typeof replies });
    } finally {
      putBack();
    }
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(byId.get(2)).toMatchObject({ ok: true, result: { programs: [] } });
    const answered = replies.filter((r) => r.id >= 10 && r.ok);
    expect(answered).toHaveLength(DEFAULT_MAX_IN_FLIGHT);
    for (const r of answered) expect(r.result).toEqual({ seq: now.seq + 1, present: [] });
    expect(replies.filter((r) => r.id >= 10 && !r.ok).map((r) => r.error!.code)).toEqual(Array(20 - DEFAULT_MAX_IN_FLIGHT).fill('BUSY'));
    expect(replies).toHaveLength(22);
    expect(manager.refusals().filter((r) => r.op === 'card.presence' && /busy/.test(String(r.reason)))).toHaveLength(1);
  }, 60_000);

  it('no smartcard in the running policy: card.presence is refused', () => {
    const bare = parsePolicy(cardPolicy(UIDS, ''), 'p.yaml');
    const ctx = { policy: () => bare, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null };
    expect(authorizeRootRequest({ op: 'card.presence' }, ctx)).toEqual({ allowed: false, reason: 'the policy gives no level a card' });
    expect(authorizeRootRequest({ op: 'card.presence' }, { ...ctx, policy: () => parsePolicy(policyText, 'p.yaml') })).toEqual({ allowed: true });
  });
});
