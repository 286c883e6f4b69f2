/**
 * Test helper for the smart-card tests: what each of them sets up the same way — the programs they
 * need (or the reason they skip), a root the card proxy's uid may pass through with a SoftHSM2
 * token of the test's own in it (its PIN changed to the user's, for `pin: trusted`), the policy's
 * `smartcard:` section, and a test supervisor with two bwrap cages both running, or real cages
 * around a broker of the test's own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_CLIENT_MODULE } from '../smartcard/cageCardEndpoint';
import type { SmartcardBroker } from '../smartcard/smartcardBroker';
import { findBinary } from '../system/binaries';
import { startRealCage, type RealCage } from './realCage';
import { testRoot } from './testRoots';
import { makeSoftToken, SOFTHSM_MODULE, TOKEN_PIN, type SoftToken } from './softToken';
import { startTestSupervisor, type TestSupervisor } from './testSupervisor';
import { bwrapCage, twoLevelPolicy } from './testPolicy';
import { waitFor } from './waitFor';

/** p11-kit's proxy module: what a cage's applications load by default (its card among its modules). */
export const P11KIT_PROXY = '/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so';

/**
 * What a card test needs that is not installed (empty: nothing), said once with the reason it skips.
 * `cages`: the test starts cages (bwrap, Xvnc); `programs`: any others it runs.
 */
export function missingForCardTest(what: string, options: { cages?: boolean; programs?: string[] } = {}): string[] {
  const programs = ['pkcs11proxyd', 'pkcs11-tool', 'softhsm2-util', ...(options.programs ?? []), ...(options.cages === false ? [] : ['bwrap', 'Xvnc'])];
  const missing = programs.filter((b) => !findBinary(b));
  if (options.cages !== false && !existsSync(CARD_CLIENT_MODULE)) missing.push(CARD_CLIENT_MODULE);
  if (missing.length > 0) console.warn(`${what} skipped: ${missing.join(', ')} missing (scripts/setup.sh installs them)`);
  return missing;
}

/**
 * Each level's proxy uid from a test's base (cardSection's): a uid of its own per level, as the
 * policy requires; the same one whatever other levels the section names (a reload keeps it).
 */
const LEVEL_UID_OFFSET: Record<string, number> = { high: 0, low: 1 };

export function levelProxyUid(proxyUid: number, level: string): number {
  const offset = LEVEL_UID_OFFSET[level];
  if (offset === undefined) throw new Error(`card tests give proxy uids to high and low only, not "${level}"`);
  return proxyUid + offset;
}

/**
 * A test root (0711: the proxy's uid passes through to its folders) with a token in `token/` the
 * proxies of high (`proxyUid`) and low (levelProxyUid) both use; `userPin`: the token's user PIN
 * changed to it (one no cage is given).
 */
export function cardTestRoot(prefix: string, proxyUid: number, userPin?: string): { root: string; token: SoftToken } {
  const root = testRoot(prefix);
  chmodSync(root, 0o711);
  const token = makeSoftToken(join(root, 'token'), [levelProxyUid(proxyUid, 'high'), levelProxyUid(proxyUid, 'low')]);
  if (userPin !== undefined) {
    execFileSync('setpriv', ['--reuid', String(proxyUid), '--regid', String(proxyUid), '--clear-groups', 'pkcs11-tool', '--module', SOFTHSM_MODULE, '--login', '--pin', TOKEN_PIN, '--change-pin', '--new-pin', userPin], { env: { PATH: '/usr/bin:/bin', SOFTHSM2_CONF: token.conf }, stdio: 'ignore' });
  }
  return { root, token };
}

/** The policy's `smartcard:` section: each level's objects, its proxy as levelProxyUid(`proxyUid`, level). */
export function cardSection(token: SoftToken, proxyUid: number, levels: Record<string, string[]>, options: { exclusive?: boolean; pin?: 'trusted' } = {}): string {
  const lines = [
    'smartcard:',
    `  module: ${SOFTHSM_MODULE}`,
    ...(options.exclusive !== undefined ? [`  exclusive: ${options.exclusive}`] : []),
    ...(options.pin ? [`  pin: ${options.pin}`] : []),
    `  environment: { SOFTHSM2_CONF: ${token.conf} }`,
    '  levels:',
    ...Object.entries(levels).map(([level, objects]) => `    ${level}: { objects: [${objects.join(', ')}], uid: ${levelProxyUid(proxyUid, level)} }`),
  ];
  return `${lines.join('\n')}\n`;
}

/** A two-level policy of bwrap cages as `uids`, with `card` (cardSection). */
export function cardPolicy(uids: { low: number; high: number }, card: string): string {
  return twoLevelPolicy({ low: bwrapCage({ uid: uids.low }), high: bwrapCage({ uid: uids.high }) }, card);
}

/** The test supervisor started in `root` with `policy`, once both cages run. */
export async function startCardSupervisor(root: string, policy: string, options: { policySource?: string } = {}): Promise<TestSupervisor> {
  const t = await startTestSupervisor(policy, { root, ...options });
  await waitFor(() => ['low', 'high'].every((l) => t.sup.cages.get(l)?.state.status === 'running'), 'both cages running', 60_000);
  return t;
}

/**
 * Real cages for `levels` (in `root`), each binding `broker`'s card endpoint for its level and
 * recording its uid in `cageUids` (what the broker's cageGid reads); then the broker started.
 */
export async function startCardCages(root: string, levels: string[], broker: SmartcardBroker, cageUids: Map<string, number>): Promise<Map<string, RealCage>> {
  const cages = new Map<string, RealCage>();
  for (const level of levels) {
    const cage = await startRealCage({
      level,
      root: join(root, `cage-${level}`),
      smartcard: (uid) => {
        cageUids.set(level, uid);
        return broker.endpoint(level)!;
      },
    });
    cages.set(level, cage);
  }
  await broker.start();
  return cages;
}
