/**
 * The name service look-up (accounts.ts, native/nameServiceIds.c): who holds an id, and "cannot
 * tell" — a thrown error naming the id and the errno — when a source the host names could not be
 * asked, never "nobody's". The module-not-loadable case and the hanging source:
 * policy/nameServiceDown.attack.test.ts. Needs the build's out/supervisor/nameServiceIds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary } from './binaries';
import { builtNameServiceIds, namesOfIds, namesOfIdsAsync } from './accounts';
import { testRoot } from '../testing/testRoots';
import { uidHeld } from '../testing/heldUid';

const UID = 52_800 + (process.pid % 50);
const taken = uidHeld(UID);

describe.skipIf(!existsSync(builtNameServiceIds()) || taken)('the name service look-up', () => {
  it('names the holder of a held id and leaves a free one out, asked at once or while the process runs on', async () => {
    expect(namesOfIds('passwd', [0, UID])).toEqual(new Map([[0, 'root']]));
    expect(await namesOfIdsAsync('group', [0, UID])).toEqual(new Map([[0, 'root']]));
  });

  // hesiod: a module glibc loads, whose source (no /etc/hesiod.conf here) is unavailable: getent says
  // 2, "not found", as for a free id; getpwuid_r gives the errno.
  const hesiod = ['/lib/x86_64-linux-gnu/libnss_hesiod.so.2', '/usr/lib/x86_64-linux-gnu/libnss_hesiod.so.2', '/lib64/libnss_hesiod.so.2'].some((p) => existsSync(p));
  const skip = process.getuid?.() !== 0 || !hesiod || !findBinary('unshare') || existsSync('/etc/hesiod.conf');
  it.skipIf(skip)('throws "could not tell" with the errno when a source is unavailable', () => {
    const root = testRoot('cloison-nsu-');
    const nsswitch = join(root, 'nsswitch.conf');
    writeFileSync(nsswitch, 'passwd: files hesiod\ngroup: files hesiod\n', { mode: 0o644 });
    const script = join(root, 'check.mts');
    writeFileSync(
      script,
      `import { namesOfIds, namesOfIdsAsync } from ${JSON.stringify(join(process.cwd(), 'supervisor/system/accounts.ts'))};
import { spawnSync } from 'node:child_process';
const why = (f: () => unknown) => { try { f(); return 'no error'; } catch (err) { return (err as Error).message; } };
const asyncWhy = await namesOfIdsAsync('group', [${UID}]).then(() => 'no error', (err: Error) => err.message);
process.stdout.write(JSON.stringify({ getentStatus: spawnSync('getent', ['passwd', '${UID}']).status, root: [...namesOfIds('passwd', [0])], syncWhy: why(() => namesOfIds('passwd', [${UID}])), asyncWhy }));
`,
    );
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$1" /etc/nsswitch.conf && exec "$2" "$3"', 'sh', nsswitch, join(process.cwd(), 'node_modules/.bin/tsx'), script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { getentStatus: number; root: Array<[number, string]>; syncWhy: string; asyncWhy: string };
    expect(out.getentStatus).toBe(2); // getent cannot tell it from "not found"
    expect(out.root).toEqual([[0, 'root']]); // held in files: still a fact
    expect(out.syncWhy).toMatch(new RegExp(`could not tell whether an account has uid ${UID} \\(errno [1-9]`));
    expect(out.asyncWhy).toMatch(new RegExp(`could not tell whether a group has gid ${UID} \\(errno [1-9]`));
  }, 90_000);
});
