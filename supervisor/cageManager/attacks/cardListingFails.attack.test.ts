/**
 * Attack (#29): a card pulled out while the manager cannot list the reader. A listing that cannot
 * be had (the tool timed out on a loaded machine, the module failed) changed nothing, so while
 * listings failed, a card pulled out kept every session opened on it before — the manager's watch
 * restarted no proxy and the part, told nothing, did nothing either.
 *
 * The real manager's executors, Caml Crush's pkcs11proxyd on a SoftHSM2 token: its configuration
 * made unreadable to the proxy uid is a module that fails to load at each listing, and its token's
 * folder moved out of the token directory is the card pulled out meanwhile.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../../testing/skipWithReason';
import { FileAuditJournal } from '../../audit/auditJournal';
import { parsePolicy } from '../../policy/policyLoader';
import { cardProxyPaths } from '../../smartcard/levelCardProxy';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest } from '../../testing/cardFixture';
import type { SoftToken } from '../../testing/softToken';
import { waitFor } from '../../testing/waitFor';
import type { CardPresenceAnswer } from '../cardPresenceWatch';
import { ManagedCages } from '../managedCages';
import { managerExecutors } from '../managerExecutors';

const missing = missingForCardTest('card listing failure attack test', { cages: false });

const BASE = 54_200 + (process.pid % 50) * 4;
const PROXY_UID = BASE;
const UIDS = { low: BASE + 2, high: BASE + 3 };
const ROOT_PEER = { uid: 0, gid: 0, pid: process.pid };

let root: string;
let token: SoftToken;
let journal: FileAuditJournal;
let table: ReturnType<typeof managerExecutors>;
const cages = new ManagedCages();

const records = (kind: string) => readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === kind);

beforeAll(() => {
  if (missing.length) return;
  ({ root, token } = cardTestRoot('cloison-cardlistfail-', PROXY_UID));
  const policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'] }));
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  const policy = () => parsePolicy(policyText, 'p.yaml');
  table = managerExecutors({ policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null, hostSound: () => null, cages, part: () => null, onSleep: () => undefined, cardPollMs: 200, journal });
}, 60_000);

afterAll(async () => {
  await table?.stop();
  journal?.close();
  if (root) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the reader cannot be listed', skipWhenMissing(missing), () => {
  it('a card pulled out while every listing fails: the session opened before still ends, the restart journaled', async () => {
    await table.executors['card.proxy']!({ op: 'card.proxy', level: 'high', action: 'start' }, ROOT_PEER);
    const first = (await table.executors['card.presence']!({ op: 'card.presence' }, ROOT_PEER)) as CardPresenceAnswer;
    expect(first.present).toHaveLength(1);
    // Listed by the manager's execute-only copy of the tool (cardListingPtrace.attack.test.ts).
    expect(statSync(join(root, 'state', 'card-presence-tool', 'pkcs11-tool')).mode & 0o7777).toBe(0o111);
    const session: Socket = createConnection({ path: cardProxyPaths(join(root, 'run-card', 'high')).innerSocket });
    let ended = false;
    session.on('close', () => (ended = true)).on('error', () => undefined);
    await new Promise<void>((resolve, reject) => session.once('connect', resolve).once('error', reject));
    // The module fails from now on for the proxy's uid, and the card leaves the reader meanwhile.
    chmodSync(token.conf, 0o000);
    const tokens = join(root, 'token', 'tokens');
    const [folder] = readdirSync(tokens);
    mkdirSync(join(root, 'pulled'));
    renameSync(join(tokens, folder!), join(root, 'pulled', folder!));
    try {
      await waitFor(() => ended, 'the session on the card nobody can see to end', 30_000);
      await waitFor(() => records('smartcard.presenceUnknown').length > 0, 'the restart journaled', 10_000);
      expect(records('smartcard.presenceUnknown')[0]).toMatchObject({ failedInARow: 3, restarted: 'high' });
    } finally {
      renameSync(join(root, 'pulled', folder!), join(tokens, folder!));
      chmodSync(token.conf, 0o644);
      session.destroy();
    }
  }, 60_000);
});
