/**
 * Attack (left over from uidfix-7, scannerLimits.attack.test.ts): where no control group can be
 * made for the scan (a cgroup v2 host where the split's part has no group to divide, a host with
 * neither version), prlimit holds the scanner instead: at most SCANNER_TASKS tasks (RLIMIT_NPROC,
 * the scan's own uid) and 1 GiB of address space (RLIMIT_AS) — each. A document that takes the
 * scanner over forks: every process it makes has its own 1 GiB, so the scan as a whole may hold
 * 64 × 1 GiB, the host's memory, until the OOM killer picks a victim (a level's application, the
 * shell). RLIMIT_AS bounds a process, not the scan.
 *
 * Here the scanner's place holds a stand-in for the taken-over scanner (Python): it forks up to 20
 * children, each reserving 900 MiB of address space (reserved only, never touched: harmless to the
 * shared machine, and RLIMIT_AS counts the reservation as it would the touched memory), all alive
 * at once, and says how many held theirs. The control: the stand-in runs and is heard, and
 * reserves 900 MiB itself.
 *
 * What the host should get: the scan's address space bounded as a whole by the scanner's 1 GiB.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const root = process.getuid?.() === 0;
const GIB = 2 ** 30;
const CHILD_BYTES = 900 * 2 ** 20;

const TAKEN_OVER = `
import mmap, os, signal, threading, time
own = 'own %s' % ('held' if (lambda: mmap.mmap(-1, ${CHILD_BYTES}))() else 'refused')
ran = []
t = threading.Thread(target=lambda: ran.append(1))
t.start()
t.join()
r, w = os.pipe()
kids, refused = [], ''
for i in range(20):
    try:
        pid = os.fork()
    except OSError as e:
        refused = os.strerror(e.errno)
        break
    if pid == 0:
        try:
            m = mmap.mmap(-1, ${CHILD_BYTES})
            os.write(w, b'h')
        except Exception:
            os.write(w, b'r')
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
got = b''
while len(got) < len(kids):
    got += os.read(r, 64)
for k in kids:
    os.kill(k, signal.SIGKILL)
    os.waitpid(k, 0)
print('forked %d held %d (%s) %s threads %s' % (len(kids), got.count(b'h'), refused or 'no fork refused', own, 'run' if ran else 'refused'), flush=True)
`;

/** A site's scanner that forks: a shell script running grep. */
const FORKING_SCANNER = ['/bin/sh', '-c', 'if grep -q MARQUEUR "$0"; then echo infected; exit 1; fi'];

/** A clean text file staged in a fresh folder the scanner's uid can read. */
function stagedCleanText(prefix: string): string {
  const dir = testRoot(prefix);
  chmodSync(dir, 0o755);
  const staged = join(dir, 'clean.txt');
  writeFileSync(staged, 'du texte ordinaire\n', { mode: 0o644 });
  return staged;
}

describe.skipIf(!root)('a scanner taken over by the document it scans, where no control group can be made', () => {
  afterAll(() => removeTestRoots());

  it("is held to the scanner's 1 GiB as a whole, not 1 GiB a process", async () => {
    const dir = testRoot('cloison-left9-sft-');
    chmodSync(dir, 0o755);
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7 a document made to take the scanner over', { mode: 0o644 });
    const verdict = await scanStaged(staged, ['/usr/bin/python3', '-c', TAKEN_OVER], [], 60_000, false, { noGroup: true, ownGroupBounds: false });
    console.log(`the taken-over scanner said: ${verdict.said}`);
    const seen = /forked (\d+) held (\d+) \(([^)]*)\) own (\w+) threads (\w+)/.exec(verdict.said);
    expect(seen, 'the stand-in ran and was heard').not.toBeNull();
    const [, , held, , own, threads] = seen!;
    expect(own, 'the stand-in reserves 900 MiB itself: the per-process bound is 1 GiB').toBe('held');
    expect(threads, 'a scanner\'s threads still run').toBe('run');
    // The attack: the scan as a whole held far more than the scanner's 1 GiB.
    expect((Number(held) + 1) * CHILD_BYTES, 'bytes of address space the scan held at once').toBeLessThanOrEqual(GIB);
    // How: the scanner stays one process there (its threads share its 1 GiB).
    expect(seen![3]).toBe('Operation not permitted');
  }, 90_000);

  it('the price: a scanner that forks (a shell script running grep) refuses a clean file there, saying it could not fork', async () => {
    const staged = stagedCleanText('cloison-left9-sfp-');
    const script = FORKING_SCANNER;
    await expect(scanStaged(staged, script, [], 60_000)).resolves.toMatchObject({ clean: true }); // with its group
    const verdict = await scanStaged(staged, script, [], 60_000, false, { noGroup: true, ownGroupBounds: false });
    console.log(`a forking scanner without a group: ${JSON.stringify(verdict)}`);
    expect(verdict.clean).toBe(false);
    expect(verdict.said).toMatch(/fork/i);
  }, 90_000);

  it("where the part's own group is bounded (the split on cgroup v2), the scanner keeps its forks: that group holds the scan's total", async () => {
    const staged = stagedCleanText('cloison-left9-sfb-');
    const script = FORKING_SCANNER;
    await expect(scanStaged(staged, script, [], 60_000, false, { noGroup: true, ownGroupBounds: true })).resolves.toMatchObject({ clean: true });
  }, 90_000);
});
