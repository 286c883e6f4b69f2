/**
 * A level's proxy uid that became an account while the proxy's start removed its old folders
 * (emptied as the proxy uid, a minute or more at worst: ownedFolders.ts): the check made before
 * the removal saw nobody's; the one made after it, with nothing awaited between it and the spawn
 * (levelCardProxy.ts), refuses — no folder is given to that account, no worker runs as it.
 * The account is made from inside the removal (a stand-in for removeOwnedFolders that does it).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';

const missing = ['useradd', 'userdel', 'getent'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
/** In systemd's unused range, clear of the defaults (61100 + position), of the cages' (61000 + index) and of proxyUidAccountAtStart's. */
const PROXY_UID = 60_600 + (process.pid % 100);
const NAME = `cltpr${randomBytes(4).toString('hex')}`;
const held = () => uidHeld(PROXY_UID);
const taken = held();
const removal = vi.hoisted(() => ({ made: false, makeAccount: () => undefined as void }));

vi.mock('../system/ownedFolders', () => ({
  removeOwnedFolders: async () => {
    removal.makeAccount();
    return [];
  },
}));

describe.skipIf(missing.length > 0 || rootless || taken)("a card proxy uid that became an account during the removal of the proxy's old folders", () => {
  afterAll(() => {
    if (removal.made) execFileSync('userdel', [NAME]);
  });

  it("keeps that level's proxy from starting, and says whose the uid is", async () => {
    removal.makeAccount = () => {
      execFileSync('useradd', ['--uid', String(PROXY_UID), '--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', NAME]);
      removal.made = true;
    };
    const policy = { smartcard: smartcardPolicySchema.parse({ levels: { high: { objects: ['high-sign'], uid: PROXY_UID } } }) } as unknown as Policy;
    const cardDir = join(testRoot('cloison-pur-'), 'card');
    const cards = new CardProxies({ policy: () => policy, dir: cardDir, part: () => null, log: () => undefined });
    const refusal = await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' }).then(
      () => 'started',
      (err: Error) => err.message,
    );
    await cards.stopAll();
    expect(removal.made).toBe(true); // the removal did run, after the first check
    expect(refusal).toMatch(new RegExp(`the card proxy of "high" cannot start: uid ${PROXY_UID} is the ${NAME} account's`));
    // Nothing given to the account: the proxy's folders were not made.
    expect([existsSync(join(cardDir, 'high', 'proxy')), existsSync(join(cardDir, 'high', 'netplex'))]).toEqual([false, false]);
  }, 60_000);
});
