/**
 * A level's proxy uid that became an account after the policy was read (a directory's, an
 * administrator's useradd): the policy's check saw nobody's, the start asks again
 * (levelCardProxy.ts, cardProxyAccounts.ts) and that level's proxy does not start, saying whose it is.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';

const missing = ['useradd', 'userdel', 'getent'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
/** In systemd's unused range, clear of the defaults (61100 + position) and of the cages' (61000 + index). */
const PROXY_UID = 60_800 + (process.pid % 100);
const NAME = `cltpa${randomBytes(4).toString('hex')}`;
const held = () => uidHeld(PROXY_UID);
const taken = held();

describe.skipIf(missing.length > 0 || rootless || taken)('a card proxy uid that became an account after the policy was read', () => {
  let made = false;
  afterAll(() => {
    if (made) execFileSync('userdel', [NAME]);
  });

  it('keeps that level\'s proxy from starting, and says whose the uid is', async () => {
    const policy = { smartcard: smartcardPolicySchema.parse({ levels: { high: { objects: ['high-sign'], uid: PROXY_UID } } }) } as unknown as Policy;
    const logged: string[] = [];
    const cardDir = join(testRoot('cloison-pua-'), 'card');
    const cards = new CardProxies({ policy: () => policy, dir: cardDir, part: () => null, log: (msg) => logged.push(msg) });
    // The policy was read (and checked) with the uid nobody's; then the account is made.
    execFileSync('useradd', ['--uid', String(PROXY_UID), '--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', NAME]);
    made = true;
    expect(held()).toBe(true);
    const refusal = await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' }).then(
      () => 'started',
      (err: Error) => err.message,
    );
    await cards.stopAll();
    expect(refusal).toMatch(new RegExp(`the card proxy of "high" cannot start: uid ${PROXY_UID} is the ${NAME} account's`));
    // Nothing of the uid's was made: no folder given to it.
    expect(existsSync(join(cardDir, 'high', 'proxy'))).toBe(false);
  }, 60_000);
});
