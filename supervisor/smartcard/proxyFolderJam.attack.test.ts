/**
 * Attack (attack-5): a card proxy's uid makes its level's card proxy unstartable for good. A
 * level's pkcs11proxyd parses what a cage sends; one taken over runs code as the level's proxy uid.
 * At each start, LevelCardProxy.start() sets the proxy's folders aside and empties them as that uid
 * (system/ownedFolders.ts: `find . -mindepth 1 -delete`), and refuses to start when one cannot be
 * emptied. The uid owns everything in them, so it can make a subfolder it owns unwritable to itself
 * (chmod 0500) with a file in it: find, run as that uid, cannot unlink the file, rmdir fails, and
 * the start throws. The leftover stays aside and is taken first at every later start, which throws
 * again: no process of the uid is left to undo it (the proxy never runs again), so the level's card
 * is gone until someone removes the folder by hand (or /run is cleared by a reboot). Nothing of
 * this needs a process of the uid alive after the stop: one chmod while it ran is enough.
 *
 * What a user sees: after the proxy restarts (a stop, a new start), the level's card works again.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';

const missing = missingForCardTest('card proxy folder jam attack', { cages: false, programs: ['setpriv', 'find'] });
const PROXY_UID = 51_700 + (process.pid % 100);

describe.skipIf(missing.length > 0)('a card proxy uid against the removal of its folders at the next start', () => {
  let root: string;
  let token: SoftToken;
  let cards: CardProxies | null = null;

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-pfj-', PROXY_UID));
  }, 60_000);
  afterAll(async () => {
    await cards?.stopAll();
  });

  it('cannot keep its level\'s proxy from starting again once it is stopped', async () => {
    const policy = { smartcard: smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } }) } as unknown as Policy;
    const cardDir = join(root, 'card');
    cards = new CardProxies({ policy: () => policy, dir: cardDir, part: () => null, log: () => undefined });
    await cards.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
    const inner = join(cardDir, 'high', 'proxy');

    // The taken-over worker, as the proxy uid, in its own folder: a subfolder it may not write, a file in it.
    execFileSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--no-new-privs', '--', '/bin/sh', '-c', 'mkdir "$1/jam" && touch "$1/jam/f" && chmod 0500 "$1/jam"', 'sh', inner]);

    // The proxy is stopped (every process of the uid gone), then started again, twice.
    await cards.proxy({ op: 'card.proxy', level: 'high', action: 'stop' });
    const again = async () => {
      try {
        await cards!.proxy({ op: 'card.proxy', level: 'high', action: 'start' });
        return 'started';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const first = await again();
    await cards.proxy({ op: 'card.proxy', level: 'high', action: 'stop' }).catch(() => undefined);
    const second = await again();
    expect({ first, second }).toEqual({ first: 'started', second: 'started' });
  }, 90_000);
});
