/**
 * Attack (attack-8): a local user whose subordinate uid range (/etc/subuid, /etc/subgid) covers a
 * level's cage uid (or a card proxy's). ownIds.ts refuses a cage or card proxy uid that an account
 * or a group holds, "an account of that uid could trace, signal and read what runs as it" — but a
 * subuid grant holds the uid as surely: newuidmap (setuid root) maps any uid of the grant into a
 * user namespace of its holder's, who becomes that kernel uid there. kill(2) compares kernel uids
 * only, so she SIGKILLs or SIGSTOPs the level's applications (or its card proxy) at will, and she
 * owns whatever the cage's uid owns where she can reach it. attack-7 made the own uids of the
 * sandboxes skip such grants (ownUids.ts); the policy's uids were not checked against them at all.
 *
 * Here: a "cage application" (sleep, as the cage uid U, as bwrapDriver's setpriv runs one), a local
 * user Alice (uid 56575 + k) granted `alice:U:1` in a file the product reads as its /etc/subuid and
 * /etc/subgid (readSubordinateIdsFrom); newuidmap is not installed here, so root writes the map it
 * would have written for her ("0 U 1"). The control: Alice as herself cannot signal the app; mapped,
 * she kills it — what the grant gives her. The attack: the policy's check takes U as a cage's uid.
 *
 * What the administrator should see: U refused as a cage's (and a card proxy's), naming the grant.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cageUidProblem, cageUidProblemAtStart } from './cageUidAccounts';
import { cardProxyUidProblem } from './cardProxyAccounts';
import { readSubordinateIdsFrom } from '../system/subordinateIds';
import { findBinary } from '../system/binaries';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';
import { runMappedOnto } from '../testing/subuidNamespace';
import { waitFor } from '../testing/waitFor';

const CAGE_UID = 56_550 + (process.pid % 25);
const ALICE = CAGE_UID + 25;
const ready = process.getuid?.() === 0 && ['setpriv', '/usr/bin/python3'].every((b) => findBinary(b)) && !uidHeld(CAGE_UID) && !uidHeld(ALICE);

/** Alice's process, mapped onto the cage uid (subuidNamespace.ts): a SIGKILL to the app. */
const KILL_APP = `
import signal
try:
    os.kill(int(sys.argv[1]), signal.SIGKILL)
    print('kill sent', flush=True)
except OSError as e:
    print('kill refused: ' + os.strerror(e.errno), flush=True)
`;

const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

afterEach(() => readSubordinateIdsFrom(null));
afterAll(() => removeTestRoots());

describe.skipIf(!ready)("a subuid grant over a level's cage uid", () => {
  it('is refused as a cage uid, naming the grant (its holder can signal what runs as it)', async () => {
    const folder = testRoot('cloison-csu-');
    const subuid = join(folder, 'subuid');
    writeFileSync(subuid, `alice:${CAGE_UID}:1\n`, { mode: 0o644 });
    readSubordinateIdsFrom([subuid, subuid]);

    // What the grant gives her: the level's application, killed by her mapped process.
    const app = spawn('setpriv', [`--reuid=${CAGE_UID}`, `--regid=${CAGE_UID}`, '--clear-groups', '--', 'sleep', '60'], { stdio: 'ignore' });
    try {
      await waitFor(() => {
        try {
          return /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${app.pid}/status`, 'utf8'))?.[1] === String(CAGE_UID) && /sleep/.test(readFileSync(`/proc/${app.pid}/comm`, 'utf8'));
        } catch {
          return false;
        }
      }, 'the cage application', 10_000);
      const asHerself = spawnSync('setpriv', [`--reuid=${ALICE}`, `--regid=${ALICE}`, '--clear-groups', '--', 'kill', '-KILL', String(app.pid)], { encoding: 'utf8' });
      expect(asHerself.status, 'alice as herself cannot signal the application').not.toBe(0);
      // Her grant covers the cage uid: newuidmap maps her onto it.
      const { out } = await runMappedOnto({ user: ALICE, as: CAGE_UID, then: KILL_APP, args: [String(app.pid)] });
      await waitFor(() => !alive(app.pid!), 'the application killed', 5_000).catch(() => undefined);
      console.log(`alice mapped onto the cage uid ${CAGE_UID}: ${out.trim().split('\n').at(-1)}; the application ${alive(app.pid!) ? 'still runs' : 'is dead'}`);
      expect(out).toContain('kill sent');
      expect(alive(app.pid!)).toBe(false);
    } finally {
      if (alive(app.pid!)) app.kill('SIGKILL');
    }

    // The attack: the policy takes that uid as a cage's.
    const problem = cageUidProblem(CAGE_UID);
    console.log(`cage uid ${CAGE_UID} with alice's grant over it: ${problem ?? 'accepted'}`);
    expect(problem ?? `uid ${CAGE_UID} accepted as a cage's, a subuid grant over it`).toMatch(/subordinate/);
    expect(problem).toContain(`${subuid}: alice:${CAGE_UID}:1`);
    // The same at a cage's start (a grant made since the reading), and for a card proxy's uid.
    expect(await cageUidProblemAtStart(CAGE_UID)).toBe(problem);
    expect(cardProxyUidProblem(CAGE_UID) ?? 'accepted as a card proxy uid').toMatch(/granted as a subordinate id/);
  }, 60_000);
});
