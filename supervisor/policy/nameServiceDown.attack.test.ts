/**
 * Attack (attack-7): a name service that does not answer, read as "nobody's". ownIds.ts promises "a
 * name service that gives no answer refuses too, never read as nobody's", but namesOfIds
 * (system/accounts.ts) reads getent's status 2 as "not held" — and getent answers 2 also when a
 * source is unavailable (LDAP or SSSD down, its daemon stopped, its module not loadable): glibc's
 * NSS gives getpwuid NULL for NSS_STATUS_UNAVAIL as for NOTFOUND, and getent cannot tell them
 * apart. So on a workstation whose accounts come from LDAP, a cage or card proxy uid that is a
 * directory user's passes the check at a reading and at each start whenever the directory is
 * unreachable (a network user who pulls the cable, or just a laptop offline): the cage then runs as
 * that person's uid (the person can trace and signal the level's apps, own its files).
 *
 * Here the name service is `passwd: files ldap` / `group: files ldap` with no nss_ldap present (the
 * same UNAVAIL status a stopped nslcd/sssd gives), bind-mounted over /etc/nsswitch.conf in a mount
 * namespace of the test's own (nothing of the host's is changed). The control: in that same
 * namespace root (in files) is still found and refused, so the check does run there.
 *
 * What the administrator should see: the uid refused, "cannot tell whether an account or a group
 * has it" — the rule the module states.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';
import { checkoutModule, hangingNameService, hangingNameServiceMissing, nameServiceNamespace, timedScript } from '../testing/hangingNameService';

const UID = 52_700 + (process.pid % 50);
const missing = ['unshare', 'mount', 'getent'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
const taken = uidHeld(UID);

describe.skipIf(missing.length > 0 || rootless || taken)('a cage uid asked while the directory (a source after files) is unavailable', () => {
  it('is refused as "cannot tell", never taken as nobody\'s', () => {
    const root = testRoot('cloison-nsd-');
    const unavailable = nameServiceNamespace(root, 'passwd: files ldap\ngroup: files ldap\nshadow: files\n');
    const script = join(root, 'check.ts');
    writeFileSync(
      script,
      `import { cageUidProblem } from ${checkoutModule('supervisor/policy/cageUidAccounts.ts')};
import { spawnSync } from 'node:child_process';
const getent = spawnSync('getent', ['passwd', '${UID}'], { encoding: 'utf8' });
process.stdout.write(JSON.stringify({ getentStatus: getent.status, rootProblem: cageUidProblem(0), problem: cageUidProblem(${UID}) }));
`,
    );
    const run = unavailable.run(script);
    expect(run.status, run.stderr).toBe(0);
    const { getentStatus, rootProblem, problem } = JSON.parse(run.stdout) as { getentStatus: number; rootProblem: string | null; problem: string | null };
    // The controls: the check runs in that namespace (root, from files, is refused as an account's),
    // and getent says no more than "not found" (2) when the directory cannot be asked.
    expect(rootProblem).toMatch(/root account's/);
    expect(getentStatus).toBe(2);
    // The attack: the directory that might hold the uid was never asked, yet the uid is taken.
    expect(problem ?? `uid ${UID} accepted as a cage's (no problem) while the directory was down`).toMatch(/cannot tell/);
  }, 90_000);
});

/**
 * The same name service, slow rather than down: an LDAP server that takes the connection and never
 * answers (nss_ldap's default time limits are tens of seconds). The look-up ran with execFileSync
 * and a 5 s timeout in the process that asks: the cage manager (root) at each start of a bwrap cage
 * (bwrapDriver.ts) and of a card proxy (levelCardProxy.ts). The refusal is right ("cannot tell"),
 * but for those 5 s — 10 s when both databases hang — the manager answered nothing at all: no other
 * level's clipboard, screen, card or stop request served, its watchdogs' timers stopped. A network
 * attacker who slows the directory froze the manager at every start the user tried.
 *
 * Here the source that hangs is a real NSS module (testing/hangingNameService.ts: `passwd: files cloisonhang`, its
 * libnss_cloisonhang.so.2 built by the test, found through LD_LIBRARY_PATH as glibc's dlopen finds
 * any), in a mount namespace of the test's own; the start's check (cageUidProblemAtStart, what
 * bwrapDriver asks) runs in a process in that namespace, where a 100 ms timer counts how long the
 * process went without running it.
 */

describe.skipIf(hangingNameServiceMissing().length > 0 || rootless || taken)('a cage uid asked while the directory hangs', () => {
  it("is refused without stopping the manager's other work", () => {
    const root = testRoot('cloison-nsh-');
    const nameService = hangingNameService(root);
    const policyFile = join(root, 'policy.yaml');
    writeFileSync(policyFile, `version: 1\nlevels:\n  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap, uid: ${UID} } }\n`, { mode: 0o644 });
    const script = join(root, 'check.mts'); // an ES module: its await at the top level
    writeFileSync(
      script,
      timedScript(
        `import { cageUidProblemAtStart } from ${checkoutModule('supervisor/policy/cageUidAccounts.ts')};
import { readPolicyFileAsync } from ${checkoutModule('supervisor/policy/policyLoader.ts')};`,
        `const started = Date.now();
const problem = await cageUidProblemAtStart(${UID});
const tookMs = Date.now() - started;
// A reload (RunningPolicy.readSource) naming that uid: the same look-up, the same refusal.
const reload = await readPolicyFileAsync(${JSON.stringify(policyFile)}).then(() => 'taken', (err: Error) => err.message);
return { problem, reload, tookMs };`,
      ),
    );
    const run = nameService.run(script);
    expect(run.status, run.stderr).toBe(0);
    const { problem, reload, longestGap, tookMs } = JSON.parse(run.stdout) as { problem: string | null; reload: string; longestGap: number; tookMs: number };
    console.log(`refusal after ${tookMs} ms: ${problem}; the process's timers stood still for ${longestGap} ms at most`);
    expect(problem ?? 'accepted').toMatch(/cannot tell/); // the control: refused, as ownIds.ts says
    expect(reload).toMatch(new RegExp(`uid ${UID}: cannot tell`));
    expect(tookMs, 'the source did hang (the look-up waited for its timeout)').toBeGreaterThanOrEqual(4000);
    expect(longestGap, 'ms during which the asking process ran nothing else').toBeLessThan(1000);
  }, 90_000);
});
