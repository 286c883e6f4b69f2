/**
 * Attack (attack-7): a scanned document that takes the scanner over (a parser bug in the policy's
 * scanner — clamscan, a site's script — is what a hostile document is made for) runs as the scan's
 * own uid in scannerSandbox.ts's sandbox with no bound on its tasks and, when the supervisor is in
 * one piece (root), none on its memory: asSandboxUser(uid, null) adds no prlimit, and
 * conversionGroup makes no group as root. The converters' sandboxes have both (the policy's
 * `convert.tasks`, 128 by default, and its memory); the part's scanner has a 1 GiB group. So for
 * the scan's 120 s the document may fork until the host has no pid left (kernel.pid_max is 32768
 * here, while the uid inherits root's RLIMIT_NPROC) — every level's applications, the shell, Xvnc
 * and the supervisor then fail to fork — or take the host's memory until the OOM killer picks a
 * victim (which may be a level's application or the shell, not the scanner).
 *
 * Here the scanner's place holds a stand-in for the taken-over scanner: it starts 300 sleeping
 * processes (a bounded fork bomb, harmless to the shared machine: the sandbox's pid namespace ends
 * them with the scan), then touches 1.3 GiB, and says how far it got. The control: the stand-in
 * runs and is heard (its count printed).
 *
 * What the host should get: a scan held to a bounded number of tasks (the converters' default, 128,
 * is used as the yardstick) and to the scanner's 1 GiB, in either mode.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const root = process.getuid?.() === 0;
const CONVERTER_DEFAULT_TASKS = 128;

const TAKEN_OVER = `
n=0
i=0
while [ $i -lt 300 ]; do
  i=$((i + 1))
  sleep 20 2>/dev/null &
  [ $? -eq 0 ] && n=$((n + 1))
done
alive=$(ls /proc | grep -c '^[0-9]*$')
held=$(/usr/bin/python3 -c "b = bytearray(1300 * 2**20)
for k in range(0, len(b), 4096): b[k] = 1
print('held')" 2>/dev/null || echo refused)
echo "started $n alive $alive memory $held"
exit 0
`;

describe.skipIf(!root)('a scanner taken over by the document it scans (the supervisor in one piece)', () => {
  afterAll(() => removeTestRoots());

  it('is held to a bounded number of tasks and to its memory', async () => {
    const dir = testRoot('cloison-scl-');
    chmodSync(dir, 0o755);
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7 a document made to take the scanner over', { mode: 0o644 });
    const verdict = await scanStaged(staged, ['/bin/sh', '-c', TAKEN_OVER, 'scanner'], [], 60_000);
    console.log(`the taken-over scanner said: ${verdict.said}`);
    const seen = /started (\d+) alive (\d+) memory (\w+)/.exec(verdict.said);
    expect(seen, 'the stand-in ran and was heard').not.toBeNull();
    const [, started, alive, memory] = seen!;
    expect(Number(alive), 'processes alive at once in the scan').toBeLessThanOrEqual(CONVERTER_DEFAULT_TASKS);
    expect(Number(started)).toBeLessThanOrEqual(CONVERTER_DEFAULT_TASKS);
    expect(memory, '1.3 GiB touched by the scan').toBe('refused');
  }, 90_000);
});
