/**
 * A key the `cloison` part had mounted, when the part crashes and the manager starts it again
 * (partRestartKeys.ts, called from managerMain.ts's `restarting`): a real manager process with a
 * real part (testing/partRestartKeysPart.ts as `--part`, the `cloison` account) and a real key (a loop
 * device over an ext4 image in the folder the policy names). The part mounts the key in low's
 * media folder and crashes; the manager unmounts it and journals it; the part started again finds
 * it unmounted and mounts it again. Seen before (the hook left out): the restarted part found the
 * key still mounted, and the manager refused to mount it again (the device in use), the user left
 * with a key neither part nor shell knew of.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaRootOf } from '../cages/bwrapDriver';
import { LoopKeys, type PluggedKey } from '../testing/loopKeys';
import { startManagerWithPart, type ManagerWithPart } from '../testing/managerProcessWithPart';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MediaMounts, mountPointsUnder } from '../usb/mediaMounts';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

let keys: LoopKeys;
let key: PluggedKey;
let media: MediaMounts;
let manager: ManagerWithPart;
const step = (name: string) => manager.step(name);

beforeAll(async () => {
  const root = testRoot('cloison-prk-');
  keys = new LoopKeys(root);
  key = await keys.plug({ format: 'ext4', fileName: 'restart.img', label: 'RESTART', files: { 'a.txt': 'on the key' } });
  // The media root shared before the manager starts (its start prepares it too: managerMain.ts).
  media = new MediaMounts(mediaRootOf(join(root, 'run')));
  await media.prepare(['low', 'high']);
  const policy = twoLevelPolicy({ low: bwrapCage({ uid: 58810 }), high: bwrapCage({ uid: 58811 }) }, `usb: { unknown: ask, loopDevices: { backingDir: ${keys.backingDir} } }\n`);
  manager = await startManagerWithPart({ root, policy, part: 'supervisor/testing/partRestartKeysPart.ts', partFlags: true });
}, 60_000);

afterAll(async () => {
  await manager?.close(async () => {
    await media?.unmountAllUnder();
    await keys?.cleanup();
  });
}, 60_000);

describe('the cloison part restarted with a key mounted', () => {
  it('the manager unmounts the keys under the media root and journals it; the part started again mounts the key again', async () => {
    await waitFor(() => !!step('second') || manager.process.exitCode !== null, 'the part started again', 60_000);
    console.log(JSON.stringify(manager.reports));
    const target = join(mediaRootOf(manager.run), 'low', 'RESTART');
    expect(step('first')).toMatchObject({ device: key.devnode, mountedBefore: false, ok: true });
    expect(manager.stderr()).toMatch(/"msg":"cloison part ended: starting it again"/);
    expect(step('second')).toMatchObject({ device: key.devnode, mountedBefore: false, ok: true });
    // Mounted once, by the second part: not twice, not left from the first.
    expect(mountPointsUnder(mediaRootOf(manager.run)).filter((p) => p === target)).toEqual([target]);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('on the key');
    const journal = readFileSync(join(manager.state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(journal.filter((r) => r.kind === 'usb.partRestartUnmount')).toEqual([expect.objectContaining({ actor: 'supervisor', point: target, device: key.devnode, outcome: 'unmounted', reason: expect.stringMatching(/cloison part ended/) })]);
  }, 90_000);
});
