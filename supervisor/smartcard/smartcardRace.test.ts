/**
 * Races on the exclusive card: the lock's take-back (take as the supervisor) arriving while a give
 * is still starting the level's proxy must win — the card ends with nobody and no proxy serves it.
 * A real Caml Crush proxy and a SoftHSM2 token; no cage is needed to see whether a socket serves.
 */
import { existsSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardTestRoot, levelProxyUid, missingForCardTest } from '../testing/cardFixture';
import type { SoftToken } from '../testing/softToken';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { SOFTHSM_MODULE } from '../testing/softToken';
import { cardProxyPaths } from './levelCardProxy';
import { SmartcardBroker } from './smartcardBroker';

const missing = missingForCardTest('smartcard race test', { cages: false });

const PROXY_UID = 52_000 + (process.pid % 100);

/** Whether anything answers on a level's card socket (what the cage's client connects to). */
const serves = (socket: string) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('exclusive card races', skipWhenMissing(missing), () => {
  let root: string;
  let broker: SmartcardBroker;
  const records: Array<{ kind: string; actor: string; fields: Record<string, unknown> }> = [];

  beforeAll(() => {
    let token: SoftToken;
    ({ root, token } = cardTestRoot('cloison-scrace-', PROXY_UID));
    const policy = smartcardPolicySchema.parse({
      module: SOFTHSM_MODULE,
      exclusive: true,
      levels: { high: { objects: ['high-sign'], uid: PROXY_UID }, low: { objects: ['low-auth'], uid: levelProxyUid(PROXY_UID, 'low') } },
      environment: { SOFTHSM2_CONF: token.conf },
    });
    broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), cageGid: () => 0, record: (kind, actor, fields) => records.push({ kind, actor, fields }) });
    for (const level of ['high', 'low']) broker.endpoint(level);
  }, 60_000);

  afterAll(async () => {
    await broker?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it('the lock taking the card back while a give is under way wins: nobody has the card, no proxy serves', async () => {
    await broker.start();
    const socket = cardProxyPaths(join(root, 'card', 'high')).socket;
    // The user gives the card to high; the workstation locks before high's proxy is up.
    const given = broker.give('high', 'user');
    const taken = broker.take('supervisor');
    await Promise.allSettled([given, taken]);
    expect(broker.view().holder).toBeNull();
    expect(broker.view().levels.every((l) => !l.serving)).toBe(true);
    expect(existsSync(socket) && (await serves(socket))).toBe(false);
    // Journaled in the order it happened: given, then taken back by the supervisor.
    expect(records.filter((r) => r.kind === 'smartcard.assign').map((r) => `${r.actor}:${String(r.fields.action)}:${String(r.fields.level)}`)).toEqual(['user:give:high', 'supervisor:take:high']);
  }, 60_000);

  it('a give to another level under way when the lock engages ends with the card taken too', async () => {
    await broker.give('low', 'user');
    const given = broker.give('high', 'user');
    const taken = broker.take('supervisor');
    await Promise.allSettled([given, taken]);
    expect(broker.view().holder).toBeNull();
    expect(broker.view().levels.every((l) => !l.serving)).toBe(true);
    for (const level of ['high', 'low']) {
      const socket = cardProxyPaths(join(root, 'card', level)).socket;
      expect(existsSync(socket) && (await serves(socket))).toBe(false);
    }
  }, 60_000);
});
