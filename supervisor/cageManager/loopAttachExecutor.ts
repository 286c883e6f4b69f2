/**
 * The manager's side of `loop.attach`: a training or test key's image, in the folder the policy
 * names for loop-device keys (the authorization checked the path), attached to a free loop device,
 * writable. The image is opened here first and must be a regular file — not a device node of the
 * system disk, not a FIFO, not a folder — and from then on only that descriptor is used: reopened
 * for writing through its own /proc/self/fd link (the same open file, whatever its names became),
 * handed to the kernel (cages/loopOverDescriptor.ts), and an image already attached found by its
 * device and inode. No name is looked up again: losetup, given /proc/self/fd/3, reopened the
 * canonical name, and an image unlinked just after the check left the name "<image> (deleted)",
 * which a link planted beforehand sent to another level's home image (loopAttachRace.test.ts).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { attachLoopOverDescriptor, identityOf, loopDeviceOverDescriptor } from '../cages/loopOverDescriptor';
import type { AttachedLoopKeys } from './attachedLoopKeys';
import { openedExactly, refused } from './openedExactly';
import type { RequestOf } from './requests';

/** `attached`: where each device attached is recorded, for `loop.detach` (loopDetachExecutor.ts). */
export function loopAttachExecutor(attached?: AttachedLoopKeys): (req: RequestOf<'loop.attach'>) => Promise<{ device: string }> {
  return async (req) => {
    const { fd, stat } = openedExactly(req.image);
    try {
      if (!stat.isFile()) throw refused(`image ${JSON.stringify(req.image.slice(0, 200))} is not a regular file`);
      const record = (device: string) => {
        attached?.record(device, { ...identityOf(fd), image: req.image });
        return { device };
      };
      const already = loopDeviceOverDescriptor(fd);
      if (already) return record(already);
      const writable = reopenedWritable(fd);
      try {
        return record(attachLoopOverDescriptor(writable, req.image));
      } finally {
        closeSync(writable);
      }
    } finally {
      closeSync(fd);
    }
  };
}

/** The very file open as `fd`, opened again for writing: /proc/self/fd/N leads to the open file itself, not to a name. */
function reopenedWritable(fd: number): number {
  const writable = openSync(`/proc/self/fd/${fd}`, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const was = identityOf(fd);
  const is = identityOf(writable);
  if (is.dev !== was.dev || is.ino !== was.ino) {
    closeSync(writable);
    throw refused('the key image reopened for writing is another file');
  }
  return writable;
}
