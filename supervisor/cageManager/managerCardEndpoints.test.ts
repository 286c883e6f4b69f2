/**
 * The cage manager's card endpoints (managerCardEndpoints.ts): the cages' card client is made in
 * the background from the manager's start, without holding its event loop, and a cage start's
 * endpoint waits for it only while it is being made — then names our client, as before.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { CAGE_CARD_CLIENT_DIR } from '../smartcard/cageCardEndpoint';
import { builtGssStub, DEBIAN_CARD_CLIENT, DEBIAN_TIRPC, makeCardClient, makeCardClientInBackground, type CardClient } from '../smartcard/cardClientModule';
import { managerCardEndpoints } from './managerCardEndpoints';

const PART = 52_850 + (process.pid % 25);
const CAGE = PART + 25;
const missing = [...['patchelf'].filter((p) => !findBinary(p)), ...[DEBIAN_CARD_CLIENT, DEBIAN_TIRPC, builtGssStub()].filter((f) => !existsSync(f))];
const root = testRoot('cloison-mce-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A policy whose level high is a bwrap cage given the card (only what the endpoints read). */
const policy = (card: boolean) => ({ levels: [{ id: 'high', cage: { driver: 'bwrap', uid: CAGE } }], ...(card ? { smartcard: { levels: { high: {} } } } : {}) }) as unknown as Policy;

/** How many times a 5 ms interval ran while `work` ran (0: the event loop was held throughout). */
async function ticksDuring(work: () => Promise<unknown> | unknown): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  clearInterval(timer);
  return { ticks, ms };
}

describe.skipIf(missing.length > 0)('the cage manager\'s card client, made in the background', () => {
  it('is begun at the manager\'s start when the policy gives a card, and a cage start\'s endpoint waits for it, then names our client', async () => {
    const parents: string[] = [];
    let release: (c: CardClient) => void = () => undefined;
    const held = new Promise<CardClient>((r) => (release = r));
    const endpoints = managerCardEndpoints({ policy: () => policy(true), partUid: PART, runDir: join(root, 'a-run'), stateDir: join(root, 'a-state'), make: (parent) => (parents.push(parent), held) });
    // Begun before any cage asked.
    expect(parents).toEqual([join(root, 'a-state', 'card-client')]);
    let endpoint: Awaited<ReturnType<typeof endpoints.endpoint>> | undefined;
    const asked = endpoints.endpoint('high').then((e) => (endpoint = e));
    await new Promise((r) => setTimeout(r, 100));
    // Not answered while the client is being made.
    expect(endpoint).toBeUndefined();
    release(await makeCardClientInBackground(parents[0]!));
    await asked;
    expect(endpoint?.clientDir).toMatch(new RegExp(`^${join(root, 'a-state', 'card-client')}/client_`));
    expect(endpoint?.bwrapArgs).toEqual(expect.arrayContaining(['--ro-bind', endpoint!.clientDir!, CAGE_CARD_CLIENT_DIR]));
    // Made once: the cage start found it made.
    expect(parents).toHaveLength(1);
  }, 60_000);

  it('is not begun when the policy gives no card, nor for a manager without a part', () => {
    const asked: string[] = [];
    managerCardEndpoints({ policy: () => policy(false), partUid: PART, runDir: join(root, 'b-run'), stateDir: join(root, 'b-state'), make: (p) => (asked.push(p), Promise.resolve({ ok: false, reason: 'test' })) });
    managerCardEndpoints({ policy: () => policy(true), partUid: undefined, runDir: join(root, 'c-run'), stateDir: join(root, 'c-state'), make: (p) => (asked.push(p), Promise.resolve({ ok: false, reason: 'test' })) });
    expect(asked).toEqual([]);
  });

  it('does not hold the manager\'s event loop while it makes the copy (the synchronous making does)', async () => {
    const background = await ticksDuring(() => makeCardClientInBackground(join(root, 'd')));
    const synchronous = await ticksDuring(() => makeCardClient(join(root, 'e')));
    console.log(`card client made in ${background.ms.toFixed(0)} ms in the background (${background.ticks} ticks of a 5 ms timer), ${synchronous.ms.toFixed(0)} ms synchronously (${synchronous.ticks})`);
    expect(synchronous.ticks).toBe(0);
    expect(background.ticks).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
