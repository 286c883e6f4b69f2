/**
 * A cage's uid that became an account after the policy was read (a directory's, an administrator's
 * useradd): the policy's check saw nobody's, the start asks again (bwrapDriver.ts,
 * cageUidAccounts.ts) and that level's cage does not start — its state says whose the uid is
 * (what the fleet journals as cage.crashed), and nothing of the cage's was made or mounted.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CageState } from '../../shared/rpc';
import { findBinary } from '../system/binaries';
import { TEST_CAGE_LIMITS } from '../testing/testPolicy';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';
import { waitFor } from '../testing/waitFor';
import { BwrapDriver, bwrapCagePaths } from './bwrapDriver';
import { CageLifecycle } from './cageLifecycle';
import { isMountPoint } from './cageMounts';

const missing = ['useradd', 'userdel', 'getent', 'bwrap', 'Xvnc'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
/** In systemd's unused range (60001–60513 is its dynamic one), clear of the cages' defaults (61000 + index) and the proxies'. */
const CAGE_UID = 60_700 + (process.pid % 100);
const NAME = `cltca${randomBytes(4).toString('hex')}`;
const held = () => uidHeld(CAGE_UID);
const taken = held();

describe.skipIf(missing.length > 0 || rootless || taken)('a cage uid that became an account after the policy was read', () => {
  let made = false;
  afterAll(() => {
    if (made) execFileSync('userdel', [NAME]);
    removeTestRoots();
  });

  it("keeps that level's cage from starting, and its state says whose the uid is", async () => {
    const root = testRoot('cloison-cua-');
    const paths = bwrapCagePaths(join(root, 'state'), join(root, 'run'), 'low');
    const driver = new BwrapDriver({ level: 'low', uid: CAGE_UID, paths, cage: { driver: 'bwrap', network: 'none', geometry: '800x600', apps: [], limits: { ...TEST_CAGE_LIMITS } } });
    const lifecycle = new CageLifecycle({ level: 'low', driver });
    const states: CageState[] = [];
    lifecycle.on('status', (state) => states.push(state));
    // The policy was read (and checked) with the uid nobody's; then the account is made.
    execFileSync('useradd', ['--uid', String(CAGE_UID), '--no-create-home', '--no-user-group', '--shell', '/usr/sbin/nologin', NAME]);
    made = true;
    expect(held()).toBe(true);
    await lifecycle.start();
    await waitFor(() => states.some((s) => s.status === 'crashed'), 'the start to fail', 30_000);
    await lifecycle.stop();
    const crashed = states.find((s) => s.status === 'crashed')!;
    expect(crashed.detail).toMatch(new RegExp(`^the cage of "low" cannot start: uid ${CAGE_UID} is the ${NAME} account's: a cage runs as a uid and gid of its own`));
    expect(crashed.detailText?.fr).toMatch(new RegExp(`l’uid ${CAGE_UID} est celui du compte ${NAME}`));
    // Nothing of the cage's: no home made or mounted, no scratch.
    expect([existsSync(paths.home), existsSync(paths.homeImage), isMountPoint(paths.scratch)]).toEqual([false, false, false]);
  }, 60_000);
});
