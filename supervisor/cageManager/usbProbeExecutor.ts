/**
 * The manager's side of `usb.probe`: what a key holds, for the unprivileged part's broker. The
 * device must be one the running policy makes a candidate key now (the authorization scanned sysfs;
 * here it is held open and found again with the same device number: usbProbeFacts.ts); its mark
 * is read with the manager's secret, its filesystem probed as today (usb/filesystemProbe.ts:
 * blkid in the sandbox, the device read-only meanwhile). The answer is only what was parsed: the
 * filesystem's type, label and UUID, and the mark's reading — never blkid's output, never a byte
 * of the device, never the secret. A device mounted (or under a loop device) is refused: the probe
 * sets it read-only and back read-write, which would make a key mounted read-only writable again
 * at the block level, and fail the writes of one mounted read-write meanwhile.
 */
import { closeSync } from 'node:fs';
import type { FilesystemInfo } from '../usb/filesystemProbe';
import type { MarkReading } from '../usb/keyMarks';
import type { RequestOf } from './requests';
import { refused } from './openedExactly';
import { examinedKey, heldKey, loopsOver, mountsOf, withKeyAlone, type UsbKeyDeps } from './usbProbeFacts';

export interface UsbProbeResult {
  filesystem: FilesystemInfo | null;
  mark: MarkReading;
}

export function usbProbeExecutor(deps: UsbKeyDeps): (req: RequestOf<'usb.probe'>) => Promise<UsbProbeResult> {
  return (req) =>
    withKeyAlone(req.device, async () => {
      const held = heldKey(req.device, deps);
      try {
        const inUse = [...mountsOf(req.device), ...loopsOver(req.device).map((l) => `${l} over it`)];
        if (inUse.length > 0) throw refused(`device ${req.device} is in use (${inUse.slice(0, 3).join(', ').slice(0, 200)}): probed on arrival, not while attached`);
        const { filesystem, mark } = await examinedKey(held, deps);
        return { filesystem, mark };
      } finally {
        closeSync(held.fd);
      }
    });
}
