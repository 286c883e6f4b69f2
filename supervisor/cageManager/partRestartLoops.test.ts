/**
 * A training key the `cloison` part had attached, when the part crashes and the manager starts it
 * again (partRestartLoops.ts, called from managerMain.ts's `restarting`): a real manager process with
 * a real part (testing/partRestartLoopsPart.ts as `--part`, the `cloison` account). The part makes
 * a key's image in the training keys' folder, has the manager attach it (`loop.attach`) and
 * crashes; the manager detaches it and journals it. Seen before (the hook left out): after the
 * restart the loop device was still over the old part's image, which no part knew of any more.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachLoop } from '../cages/loopDevice';
import { startManagerWithPart, type ManagerWithPart } from '../testing/managerProcessWithPart';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

let manager: ManagerWithPart;
const step = (name: string) => manager.step(name);

/** The file a loop device is over, or null when it is over none. */
function backingFile(device: string): string | null {
  try {
    return readFileSync(`/sys/block/${basename(device)}/loop/backing_file`, 'utf8').trimEnd();
  } catch {
    return null;
  }
}

beforeAll(async () => {
  const policy = twoLevelPolicy({ low: bwrapCage({ uid: 58546 }), high: bwrapCage({ uid: 58547 }) }, 'training: allowed\n');
  manager = await startManagerWithPart({ prefix: 'cloison-prl-', policy, policyMode: 0o644, part: 'supervisor/testing/partRestartLoopsPart.ts', partFlags: true });
}, 60_000);

afterAll(async () => {
  await manager?.close(async () => {
    // Left attached by a failing run: detached here, only if still over this test's image.
    const first = step('first') as { device?: string; image?: string } | undefined;
    if (first?.device && first.image && backingFile(first.device)?.startsWith(first.image)) await detachLoop(first.device);
  });
}, 60_000);

describe('the cloison part restarted with a training key attached', () => {
  it('the manager detaches the key\'s loop device and journals it', async () => {
    await waitFor(() => !!step('second') || manager.process.exitCode !== null, 'the part started again', 60_000);
    const first = step('first') as unknown as { ok: boolean; device: string; image: string };
    expect(first).toMatchObject({ ok: true, device: expect.stringMatching(/^\/dev\/loop\d+$/) });
    expect(manager.stderr()).toMatch(/"msg":"cloison part ended: starting it again"/);
    // No longer over the old part's image (detached; the device may since be another's).
    expect(backingFile(first.device) ?? '').not.toContain(first.image);
    const journal = readFileSync(join(manager.state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'loop.partRestartDetach')).toEqual([expect.objectContaining({ actor: 'supervisor', device: first.device, image: first.image, outcome: 'detached', reason: expect.stringMatching(/cloison part ended/) })]);
  }, 90_000);
});
