/**
 * A conversion that allocates without end, in the `cloison` part (#29): a real process of a
 * `cloison`-like account started as the manager starts the part (cloisonPart.ts, its own group
 * given to it), a stand-in in the pixel helper's place allocating until something stops it.
 *
 * With the sandbox in the part's own group (as it was), the part's group reaches its limit: every
 * broker, the gateway and the journal share it, and the kernel's OOM killer chooses among them and
 * the sandbox. With a group of its own below the part's (conversionCgroup.ts), the stand-in is
 * killed at its group's limit, the part's group never reaches its own, the user reads "the
 * converter ran out of memory", and the part converts the next document. The same in tesseract's
 * place ("text recognition ran out of memory") and in the scanner's ("the scanner ran out of
 * memory"); two at once (each group's limit within the part's, together not: seen taking the
 * part's group to 1 GiB of 1 GiB before the sandboxes shared one group of their own) both killed
 * below the part's limit; each sandbox's group removed with its end.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhen } from '../../testing/skipWithReason';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { partReports } from '../../testing/reportingPart';
import { testRoot } from '../../testing/testRoots';

let root: string;
let cloison: PamTestUser;
// Seen before the group of its own, the stand-in in the part's group: the part's group at its
// limit (memory.max_usage_in_bytes 1 GiB of 1 GiB), the stand-in killed by the OOM killer of the
// part's group, the user reading "the converter crashed: exit 137".
const cgroupV1 = !existsSync('/sys/fs/cgroup/cgroup.controllers') && existsSync('/sys/fs/cgroup/memory');

beforeAll(() => {
  root = testRoot('cloison-cvm-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  mkdirSync(join(root, 'work'), { mode: 0o700 });
  chownSync(join(root, 'work'), cloison.uid, cloison.gid);
}, 60_000);

afterAll(async () => {
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('a conversion that allocates without end, in the cloison part', skipWhen(!cgroupV1 && 'no cgroup v1 memory hierarchy (the part\'s memory limit is tested there)'), () => {
  it('is killed in a group of its own: the part\'s group never reaches its limit, the user reads why, the next document converts', async () => {
    const reports = await partReports({
      script: join(__dirname, '../../testing/memoryHogPart.ts'),
      account: cloison,
      start: { filter: 'sandboxing', workDir: join(root, 'work') },
      limits: { memoryBytes: 1024 * 2 ** 20, tasks: 256 },
    });
    const hog = reports.hog as { result: { ok: boolean; refusal?: string; reason?: string }; before: { failcnt: number; limit: number }; after: { failcnt: number; limit: number; maxUsage: number } };
    expect(hog.before.limit).toBe(1024 * 2 ** 20);
    expect(hog.result, JSON.stringify(hog)).toMatchObject({ ok: false, refusal: 'out-of-memory', reason: expect.stringContaining('the converter ran out of memory') });
    // The part's own group never at its limit: the stand-in's charges stopped below it.
    expect(hog.after.maxUsage, JSON.stringify(hog)).toBeLessThan(hog.after.limit);
    const ocr = reports['ocr hog'] as { result: { ok: boolean; refusal?: string; reason?: string }; after: { limit: number; maxUsage: number } };
    expect(ocr.result, JSON.stringify(ocr)).toMatchObject({ ok: false, refusal: 'ocr-failed', reason: expect.stringContaining('text recognition ran out of memory') });
    expect(ocr.after.maxUsage).toBeLessThan(ocr.after.limit);
    const scan = reports['scanner hog'] as { result: { clean: boolean; said: string }; after: { limit: number; maxUsage: number } };
    expect(scan.result, JSON.stringify(scan)).toEqual({ clean: false, said: 'the scanner ran out of memory' });
    expect(scan.after.maxUsage).toBeLessThan(scan.after.limit);
    const twins = reports['two hogs'] as { results: Array<{ ok: boolean; refusal?: string }>; after: { limit: number; maxUsage: number } };
    expect(twins.results, JSON.stringify(twins)).toMatchObject([{ ok: false, refusal: 'out-of-memory' }, { ok: false, refusal: 'out-of-memory' }]);
    expect(twins.after.maxUsage, JSON.stringify(twins)).toBeLessThan(twins.after.limit);
    // Five sandboxes forking and holding: they fork (those past the sandboxes' share cannot
    // start), and the part still can. Seen before, in the part's group: the second sandbox (150
    // tasks, above the first's 72) filled it, the part's own fork failed with EAGAIN, and the next
    // sandbox's start (EAGAIN, an unhandled 'error') ended the part; with that handled, the part
    // forked nothing and the document sent meanwhile read "the converter crashed: exit -11".
    const bombs = reports['fork bombs'] as { forked: number[]; partFork: number | string; meanwhile: { ok: boolean } };
    expect(bombs.forked[0], JSON.stringify(bombs)).toBeGreaterThan(0);
    expect(bombs.partFork, JSON.stringify(bombs)).toBe(0);
    expect(bombs.meanwhile).toMatchObject({ ok: false, refusal: 'crashed' });
    expect(reports.next!.result).toEqual({ ok: true, pages: 1 });
    // Each sandbox's group removed with its end.
    expect(reports['groups left']!.below).toEqual([]);
  }, 300_000);
});
