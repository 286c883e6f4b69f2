/**
 * The manager's side of `usb.prepare`: marking a key for a level, or unmarking it — the steps the
 * broker runs today after the user's trusted confirmation (usb/keyPreparation.ts, usb/keyMarks.ts),
 * with the mark's secret the manager's alone. The device is held and found again among the
 * policy's keys, its mark read here (usbProbeFacts.ts); a device mounted or in use is refused.
 *
 *   mark:   the level must be a bwrap level the key may go to — one of its choices as an unmarked
 *           key (the policy's rules and choices), or the level its valid mark already names. The
 *           key is erased (wholly when it carries any mark, valid, foreign or damaged: what it held
 *           for one level must not reach another under a fresh filesystem — issue #27 item 10 —, its
 *           ends otherwise), signed for that level, given an ext4 filesystem owned by the level's
 *           cage uid.
 *   unmark: the key must carry a mark; a valid one must be the level's, another workstation's or a
 *           damaged one may be unmarked by a level the key may go to. The whole device is erased.
 */
import { execFile } from 'node:child_process';
import { closeSync } from 'node:fs';
import { promisify } from 'node:util';
import { cageUid } from '../../shared/policy';
import { decideDevice } from '../usb/devicePolicy';
import { probeFilesystem } from '../usb/filesystemProbe';
import { eraseDevice, formatDataRegion } from '../usb/keyPreparation';
import { MIN_MARKABLE_BYTES, writeMark } from '../usb/keyMarks';
import { requireBinary } from '../system/binaries';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import { examinedKey, heldKey, loopsOver, mountsOf, withKeyAlone, type KeyFacts, type UsbKeyDeps } from './usbProbeFacts';

export type UsbPrepareResult = { action: 'mark'; markId: string; erased: 'whole' | 'ends' } | { action: 'unmark'; erased: 'whole' };

/** The levels an unmarked key with this identity may go to, by the policy's rules and choices. */
function levelsAllowed(key: KeyFacts, deps: UsbKeyDeps): Set<string> {
  const { device, filesystem } = key;
  const asUnmarked = decideDevice(deps.policy().usb, { vendorId: device.vendorId, productId: device.productId, serial: device.serial, uuid: filesystem?.uuid ?? null });
  const levels = new Set((asUnmarked.bound ? [asUnmarked.bound] : asUnmarked.choices).map((c) => c.level));
  if (key.mark.status === 'valid') levels.add(key.mark.level);
  return levels;
}

/** A read-only attachment leaves the device read-only (BLKROSET); marking and erasing write to it. */
async function writable(devnode: string): Promise<void> {
  await promisify(execFile)(requireBinary('blockdev'), ['--setrw', devnode]);
}

export function usbPrepareExecutor(deps: UsbKeyDeps): (req: RequestOf<'usb.prepare'>) => Promise<UsbPrepareResult> {
  return (req) =>
    withKeyAlone(req.device, async () => {
      const policy = deps.policy();
      const index = policy.levels.findIndex((l) => l.id === req.level);
      const cage = policy.levels[index]?.cage;
      if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage to use a marked key`);
      const held = heldKey(req.device, deps);
      try {
        const inUse = [...mountsOf(req.device), ...loopsOver(req.device).map((l) => `${l} over it`)];
        if (inUse.length > 0) throw refused(`device ${req.device} is in use (${inUse.slice(0, 3).join(', ').slice(0, 200)}): eject it first`);
        // A filesystem that cannot be probed does not stop an erase: the probe only tells the key's UUID to the rules.
        const probe = deps.probe ?? probeFilesystem;
        const key = await examinedKey(held, { ...deps, probe: (d, r) => probe(d, r).catch(() => null) });
        const { device, mark } = key;
        const allowed = levelsAllowed(key, deps);
        if (req.action === 'unmark') {
          if (mark.status === 'none') throw refused(`device ${req.device} carries no mark`);
          if (mark.status === 'valid' ? mark.level !== req.level : !allowed.has(req.level)) throw refused(`device ${req.device} is not level ${req.level}'s to unmark`);
          await writable(device.devnode);
          await eraseDevice(device.devnode, device.sizeBytes);
          return { action: 'unmark', erased: 'whole' };
        }
        if (!allowed.has(req.level)) throw refused(`the policy does not let device ${req.device} go to level "${req.level}"`);
        if (device.sizeBytes < MIN_MARKABLE_BYTES) throw refused(`device ${req.device} is too small to be marked (${device.sizeBytes} bytes; at least ${MIN_MARKABLE_BYTES})`);
        const wasMarked = mark.status !== 'none';
        await writable(device.devnode);
        if (wasMarked) await eraseDevice(device.devnode, device.sizeBytes);
        const { markId } = writeMark(device.devnode, device.sizeBytes, deps.stationKeys(), req.level);
        await formatDataRegion(device.devnode, device.sizeBytes, cageUid(cage, index), req.level.toUpperCase());
        return { action: 'mark', markId, erased: wasMarked ? 'whole' : 'ends' };
      } finally {
        closeSync(held.fd);
      }
    });
}
