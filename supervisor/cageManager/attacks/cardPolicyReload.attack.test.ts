/**
 * Attack (#29): a policy reload that takes the card away, against a compromised `cloison` part.
 * The manager's `card.socket` refuses a withdrawn level's connection before its executor could stop
 * the proxy (requestAuthorization.ts), so a part that simply never asks again keeps the level's
 * pkcs11proxyd running, and every connection it was handed before the reload served: the card in
 * a level the administrator just took it from, or in two levels of a card made exclusive.
 *
 * The real manager's executors and server, Caml Crush's pkcs11proxyd on a SoftHSM2 token; the part's
 * requests from a real `cloison`-account process; a session on the card is a connection to the
 * level's proxy (a worker of its own), as the part's guard holds one for each cage connection.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../../testing/skipWithReason';
import { parsePolicy } from '../../policy/policyLoader';
import { cardProxyPaths } from '../../smartcard/levelCardProxy';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest } from '../../testing/cardFixture';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import type { SoftToken } from '../../testing/softToken';
import { waitFor } from '../../testing/waitFor';
import { ManagedCages } from '../managedCages';

const missing = missingForCardTest('card policy reload attack test', { cages: false });

const BASE = 54_000 + (process.pid % 50) * 4;
const PROXY_UID = BASE;
const UIDS = { low: BASE + 2, high: BASE + 3 };

let root: string;
let token: SoftToken;
let manager: ServedManager;
let policyText: string;
const cages = new ManagedCages();

afterEach(() => {
  // Each test starts from the shared policy, whatever the one before left.
  if (!missing.length) reload(shared());
});

const shared = () => cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign', 'high-secret'], low: ['low-auth'] }));
const records = (kind: string) => readFileSync(manager.journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === kind);

/** The pids of the pkcs11proxyd processes the manager runs for `level`. */
function proxyPids(level: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcs11proxyd' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${root}/run-card/${level}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The part asks for `levels`' proxies, then nothing more (as a compromised part would). */
async function partStarts(...levels: string[]): Promise<void> {
  const frames = levels.map((level, i) => ({ json: { id: i + 1, request: { op: 'card.proxy', level, action: 'start' } } }));
  const { replies } = await sendFramesAs(manager.cloison, manager.socketPath, frames);
  expect(replies).toEqual(levels.map((_, i) => ({ id: i + 1, ok: true, result: { running: true } })));
}

/** A session on `level`'s card: a connection to its proxy, the kind the part was handed before the reload. */
async function session(level: string): Promise<{ ended: () => boolean; socket: Socket }> {
  const socket = createConnection({ path: cardProxyPaths(join(root, 'run-card', level)).innerSocket });
  let ended = false;
  socket.on('close', () => (ended = true)).on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { ended: () => ended, socket };
}

/** The policy read again, as the manager's SIGHUP or the part's policy.reload does (managerMain.ts applyPolicy). */
function reload(text: string): void {
  policyText = text;
  manager.table!.policyReloaded();
}

beforeAll(async () => {
  if (missing.length) return;
  ({ root, token } = cardTestRoot('cloison-cardreload-', PROXY_UID));
  policyText = shared();
  // The proxies journal their stops in the manager's journal, as managerMain.ts has them do.
  manager = await serveManagerToCloison({ root, policy: () => parsePolicy(policyText, 'p.yaml'), cages, holdsCage: true, table: (_cloison, journal) => ({ part: () => null, journal }) });
}, 60_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe('a reload that takes the card away, the part asking nothing more', skipWhenMissing(missing), () => {
  it("high withdrawn from smartcard.levels: its proxy stops and the session handed out before ends; low's, unchanged, serves on", async () => {
    await partStarts('high', 'low');
    const high = await session('high');
    const low = await session('low');
    // Its controller and the session's worker (forked once the connection is taken).
    await waitFor(() => proxyPids('low').length >= 2, "low's session worker", 10_000);
    const lowPids = proxyPids('low');
    reload(cardPolicy(UIDS, cardSection(token, PROXY_UID, { low: ['low-auth'] })));
    await waitFor(() => high.ended() && proxyPids('high').length === 0, "high's session to end and its proxy to stop", 15_000);
    // The control: a level the reload left as it was keeps its proxy and its session.
    expect(low.ended()).toBe(false);
    expect(proxyPids('low')).toEqual(expect.arrayContaining(lowPids));
    expect(records('smartcard.proxyStopped')).toContainEqual(expect.objectContaining({ level: 'high', why: 'withdrawn' }));
    low.socket.destroy();
  }, 60_000);

  it("high's objects narrowed: the proxy serving the old filter stops, and its session ends", async () => {
    await partStarts('high');
    const high = await session('high');
    reload(cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] })));
    await waitFor(() => high.ended() && proxyPids('high').length === 0, "high's session on the old filter to end", 15_000);
    expect(records('smartcard.proxyStopped')).toContainEqual(expect.objectContaining({ level: 'high', why: 'changed' }));
  }, 60_000);

  it('exclusive turned on with both proxies running: neither keeps the card (no level held it under the shared policy)', async () => {
    await partStarts('high', 'low');
    const high = await session('high');
    const low = await session('low');
    reload(cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign', 'high-secret'], low: ['low-auth'] }, { exclusive: true })));
    await waitFor(() => high.ended() && low.ended() && proxyPids('high').length === 0 && proxyPids('low').length === 0, 'both sessions to end', 15_000);
    expect(records('smartcard.proxyStopped')).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'high', why: 'exclusive' }), expect.objectContaining({ level: 'low', why: 'exclusive' })]));
    // Then the part gives it to one level: that one starts, the other is refused while it runs.
    await partStarts('high');
    const lowStart = async () => (await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request: { op: 'card.proxy', level: 'low', action: 'start' } } }])).replies;
    expect(await lowStart()).toEqual([expect.objectContaining({ id: 1, ok: false, error: expect.objectContaining({ code: 'POLICY_DENIED' }) })]);
    // The holder under an exclusive policy reloaded unchanged keeps the card: low's start, queued
    // behind the reload's check, is still refused, high's controller runs on, its session open.
    const holder = await session('high');
    const pids = proxyPids('high');
    reload(policyText);
    expect(await lowStart()).toEqual([expect.objectContaining({ id: 1, ok: false, error: expect.objectContaining({ code: 'POLICY_DENIED' }) })]);
    expect(proxyPids('high')).toEqual(expect.arrayContaining(pids));
    expect(holder.ended()).toBe(false);
    holder.socket.destroy();
  }, 60_000);
});
