/**
 * Attack (attack-8): a directory source that is down, named BEFORE another source. nameServiceIds
 * (system/native/nameServiceIds.c) says getpwuid_r/getgrgid_r tell "not found" from "unavailable"
 * apart — but glibc's getXXbyYY_r returns the status of the LAST source it asked: with
 * `passwd: sss files systemd` (authselect's sssd profile on RHEL/Fedora) or `files sss systemd`,
 * SSSD answers UNAVAIL (its daemon stopped, the laptop offline), the default action goes on to the
 * next source, which answers NOTFOUND, and getpwuid_r gives 0 and no entry: the look-up prints
 * "free". A cage or card proxy uid that is a directory user's then passes the reading's check and
 * each start's, whenever the directory is unreachable (nameServiceDown.attack.test.ts's hole, back
 * through the order of the sources: that test only puts the dead source last).
 *
 * Here the directory is a real NSS module built by the test (libnss_cloisondown.so.2, found through
 * LD_LIBRARY_PATH as glibc finds any), answering UNAVAIL with ECONNREFUSED as nss_sss does when its
 * socket refuses, named before `files` in an /etc/nsswitch.conf bind-mounted in a mount namespace
 * of the test's own. The control: a module that answers NOTFOUND in the same place leaves the uid
 * free, and root (in files) is still refused.
 *
 * What the administrator should see: the uid refused, "cannot tell".
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';

const UID = 56_500 + (process.pid % 50);
const missing = ['unshare', 'mount', 'gcc'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
const taken = uidHeld(UID);

/** A source that answers `status` for every uid and gid (NSS_STATUS_UNAVAIL is 0, NOTFOUND -1). */
const moduleSource = (name: string, status: string) => `#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <grp.h>
enum nss_status _nss_${name}_getpwuid_r(uid_t u, struct passwd *p, char *b, size_t n, int *e) { (void)u; (void)p; (void)b; (void)n; *e = ECONNREFUSED; return ${status}; }
enum nss_status _nss_${name}_getgrgid_r(gid_t g, struct group *r, char *b, size_t n, int *e) { (void)g; (void)r; (void)b; (void)n; *e = ECONNREFUSED; return ${status}; }
`;

/** The cage uid check (what a reading and each start ask) run in a namespace whose nsswitch.conf names `source` first. */
function checkWith(root: string, source: string): { rootProblem: string | null; problem: string | null; startProblem: string | null } {
  const nsswitch = join(root, `nsswitch-${source}.conf`);
  writeFileSync(nsswitch, `passwd: ${source} files\ngroup: ${source} files\nshadow: files\n`, { mode: 0o644 });
  const script = join(root, `check-${source}.mts`);
  writeFileSync(
    script,
    `import { cageUidProblem, cageUidProblemAtStart } from ${JSON.stringify(join(process.cwd(), 'supervisor/policy/cageUidAccounts.ts'))};
const startProblem = await cageUidProblemAtStart(${UID});
process.stdout.write(JSON.stringify({ rootProblem: cageUidProblem(0), problem: cageUidProblem(${UID}), startProblem }));
`,
  );
  const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
  const run = spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/nsswitch.conf && exec "$2" "$3"', 'sh', nsswitch, tsx, script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, LD_LIBRARY_PATH: root },
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { rootProblem: string | null; problem: string | null; startProblem: string | null };
}

describe.skipIf(missing.length > 0 || rootless || taken)('a cage uid asked while a directory named before files is down', () => {
  afterAll(() => removeTestRoots());

  it('is refused as "cannot tell" at a reading and at a start, never taken as nobody\'s', () => {
    const root = testRoot('cloison-nsu-');
    chmodSync(root, 0o755);
    for (const [name, status] of [['cloisondown', 'NSS_STATUS_UNAVAIL'], ['cloisonnone', 'NSS_STATUS_NOTFOUND']] as const) {
      const built = spawnSync('gcc', ['-shared', '-fPIC', '-x', 'c', '-', '-o', join(root, `libnss_${name}.so.2`)], { input: moduleSource(name, status), encoding: 'utf8' });
      expect(built.status, built.stderr).toBe(0);
    }
    // The control: a directory that answers "not found" leaves the uid free; root is refused.
    const answered = checkWith(root, 'cloisonnone');
    expect(answered.rootProblem).toMatch(/root account's/);
    expect(answered.problem).toBeNull();
    expect(answered.startProblem).toBeNull();
    // The attack: the directory that might hold the uid could not be asked, and files said "not found".
    const down = checkWith(root, 'cloisondown');
    console.log(`directory down before files: at a reading ${down.problem ?? 'accepted'}; at a start ${down.startProblem ?? 'accepted'}`);
    expect(down.rootProblem).toMatch(/root account's/);
    expect(down.problem ?? `uid ${UID} accepted as a cage's while the directory was down`).toMatch(/cannot tell/);
    expect(down.startProblem ?? `uid ${UID} accepted at a start while the directory was down`).toMatch(/cannot tell/);
  }, 120_000);
});
