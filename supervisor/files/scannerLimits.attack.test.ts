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
 *
 * After the fix (uidfix-7): the scan runs in a group of its own as root too (64 tasks, 1 GiB) and a
 * limit reached fails the scan, naming the limit. The stand-in was a dash script first: dash exits,
 * unheard, at the first fork refused, so it could never report a limit; it is Python now (seen
 * against the code before the fix: started 300 alive 302 memory held).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const root = process.getuid?.() === 0;
const CONVERTER_DEFAULT_TASKS = 128;

/**
 * In Python, so that a fork refused is counted and the stand-in goes on (dash exits at the first
 * fork it cannot make, unheard); the 1.3 GiB in a child of its own, so that an OOM kill leaves
 * the stand-in alive to say it.
 */
const TAKEN_OVER = `
import os, signal, time
kids = []
for i in range(300):
    try:
        pid = os.fork()
    except OSError:
        continue
    if pid == 0:
        time.sleep(20)
        os._exit(0)
    kids.append(pid)
alive = sum(1 for p in os.listdir('/proc') if p.isdigit())
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
try:
    pid = os.fork()
except OSError:
    pid = None
if pid == 0:
    try:
        b = bytearray(1300 * 2**20)
        for k in range(0, len(b), 4096):
            b[k] = 1
        os._exit(0)
    except MemoryError:
        os._exit(1)
held = 'unknown'
if pid is not None:
    _, status = os.waitpid(pid, 0)
    held = 'held' if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 'refused'
print('started %d alive %d memory %s' % (len(kids), alive, held), flush=True)
`;

describe.skipIf(!root)('a scanner taken over by the document it scans (the supervisor in one piece)', () => {
  afterAll(() => removeTestRoots());

  it('is held to a bounded number of tasks and to its memory', async () => {
    const dir = testRoot('cloison-scl-');
    chmodSync(dir, 0o755);
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7 a document made to take the scanner over', { mode: 0o644 });
    const verdict = await scanStaged(staged, ['/usr/bin/python3', '-c', TAKEN_OVER], [], 150_000);
    console.log(`the taken-over scanner said: ${verdict.said}`);
    const seen = /started (\d+) alive (\d+) memory (\w+)/.exec(verdict.said);
    expect(seen, 'the stand-in ran and was heard').not.toBeNull();
    const [, started, alive, memory] = seen!;
    expect(Number(alive), 'processes alive at once in the scan').toBeLessThanOrEqual(CONVERTER_DEFAULT_TASKS);
    expect(Number(started)).toBeLessThanOrEqual(CONVERTER_DEFAULT_TASKS);
    expect(memory, '1.3 GiB touched by the scan').toBe('refused');
    // Fail closed: a scanner cut short by a limit gives no clean verdict, and says which limit.
    expect(verdict.clean).toBe(false);
    expect(verdict.said).toMatch(/^the scanner (ran out of memory|reached its task limit)/);
  }, 200_000);
});
