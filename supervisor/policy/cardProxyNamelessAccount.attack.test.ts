/**
 * Attack (attack-5): a proxy uid the name service does have, past the check. cardProxyAccounts.ts
 * asks `getent passwd|group <uid>` and reads the entry's first field as the holder's name; an entry
 * whose name is empty (":x:64177:64177::/nonexistent:/usr/sbin/nologin", which getent prints and
 * answers 0 for) reads as "nobody's" (nameOfId: `split(':')[0] || null`), and the policy is taken
 * with that uid as a proxy's. getent's status 0 is the fact: some entry holds the uid, whatever it
 * prints. Here the name service is a copy of the host's passwd with one such entry, bind-mounted
 * over /etc/passwd in a mount namespace of the test's own (nothing of the host's is changed).
 *
 * What the administrator should see: the uid refused, as for any account's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';

const UID = 51_900 + (process.pid % 90);
const missing = ['unshare', 'mount', 'getent'].filter((b) => !findBinary(b));
const rootless = process.getuid?.() !== 0;
const taken = uidHeld(UID);

describe.skipIf(missing.length > 0 || rootless || taken)('a proxy uid held by a passwd entry with no name', () => {
  it('is refused like any account\'s', () => {
    const root = testRoot('cloison-pna-');
    const passwd = join(root, 'passwd');
    writeFileSync(passwd, `${readFileSync('/etc/passwd', 'utf8')}:x:${UID}:${UID}::/nonexistent:/usr/sbin/nologin\n`, { mode: 0o644 });
    const script = join(root, 'check.ts');
    writeFileSync(
      script,
      `import { checkCardProxyAccounts } from ${JSON.stringify(join(process.cwd(), 'supervisor/policy/cardProxyAccounts.ts'))};
import { smartcardPolicySchema } from ${JSON.stringify(join(process.cwd(), 'shared/smartcardPolicy.ts'))};
import { execFileSync } from 'node:child_process';
const card = smartcardPolicySchema.parse({ levels: { high: { objects: ['b'], uid: ${UID} } } });
process.stdout.write(JSON.stringify({ entry: execFileSync('getent', ['passwd', '${UID}'], { encoding: 'utf8' }).trim(), problems: checkCardProxyAccounts(card) }));
`,
    );
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/passwd && exec "$2" "$3"', 'sh', passwd, tsx, script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const { entry, problems } = JSON.parse(run.stdout) as { entry: string; problems: Array<{ message: string }> };
    // The control: inside the namespace the name service does hold the uid.
    expect(entry).toBe(`:x:${UID}:${UID}::/nonexistent:/usr/sbin/nologin`);
    expect(problems.map((p) => p.message).join('\n')).toMatch(new RegExp(`uid ${UID}`));
  }, 90_000);
});
