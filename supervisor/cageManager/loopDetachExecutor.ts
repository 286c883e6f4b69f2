/**
 * The manager's side of `loop.detach`: a training key's loop device, detached once the part has
 * removed its image (training/trainingKeys.ts's unplug: the image first, as a key pulled out).
 * Only a device `loop.attach` attached (AttachedLoopKeys), still over that very file — checked on
 * the device's own descriptor by device and inode (LOOP_GET_STATUS64, as cages/loopOverDescriptor.ts
 * finds a device), then cleared on that same descriptor (LOOP_CLR_FD): no name is looked up
 * between the check and the act. A key still plugged (its image still at its name) is refused:
 * the part unplugs by removing it first. Seen with the device detached as named
 * (remoteUsb.test.ts): a cage's home loop device, another training key still plugged, and a key
 * of the folder the manager never attached were all detached at the part's request.
 */
import koffi from 'koffi';
import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import type { AttachedLoopKey, AttachedLoopKeys } from './attachedLoopKeys';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

const LOOP_CLR_FD = 0x4c01;
const LOOP_GET_STATUS64 = 0x4c05;
const ENXIO = 6;
/** struct loop_info64 (linux/loop.h): lo_device then lo_inode, 64 bits each. */
const INFO_SIZE = 232;

type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
let ioctl: Ioctl | null = null;
const call = (fd: number, request: number, type: string, arg: unknown): number => {
  ioctl ??= koffi.load('libc.so.6').func('int ioctl(int, unsigned long, ...)') as unknown as Ioctl;
  return ioctl(fd, request, type, arg);
};

export function loopDetachExecutor(attached: AttachedLoopKeys): (req: RequestOf<'loop.detach'>) => Promise<{ detached: string }> {
  return async (req) => {
    const key = attached.get(req.device);
    if (!key) throw refused(`${req.device} is not a training key's loop device this manager attached (loop.attach)`);
    detachAttachedKey(attached, req.device, key, { imageRemoved: true });
    return { detached: req.device };
  };
}

/**
 * Detaches `device` if it is still over the very file `key` records (LOOP_CLR_FD on the descriptor
 * checked); `imageRemoved`: only once that file is no longer at its name (the part's unplug). A
 * device no longer attached is forgotten, as is one now over another file (refused).
 */
export function detachAttachedKey(attached: AttachedLoopKeys, device: string, key: AttachedLoopKey, options: { imageRemoved: boolean }): void {
  let fd: number;
  try {
    fd = openSync(device, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    attached.forget(device);
    throw refused(`${device} cannot be opened (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const info = Buffer.alloc(INFO_SIZE);
    if (call(fd, LOOP_GET_STATUS64, 'void *', info) !== 0) {
      const errno = koffi.errno();
      if (errno !== ENXIO) throw new Error(`LOOP_GET_STATUS64 on ${device} failed: errno ${errno}`);
      attached.forget(device); // detached already: nothing left to do
      return;
    }
    if (info.readBigUInt64LE(0) !== key.dev || info.readBigUInt64LE(8) !== key.ino) {
      attached.forget(device);
      throw refused(`${device} is no longer over the key image loop.attach attached (${key.image.slice(0, 200)})`);
    }
    if (options.imageRemoved && stillThere(key.image, key)) throw refused(`the key image ${JSON.stringify(key.image.slice(0, 200))} is still in the keys' folder: unplugging removes it first`);
    if (call(fd, LOOP_CLR_FD, 'int', 0) !== 0) throw new Error(`LOOP_CLR_FD on ${device} failed: errno ${koffi.errno()}`);
    attached.forget(device);
  } finally {
    closeSync(fd);
  }
}

/** Whether the image is still at its name (the very file: a name can be given to another since). */
function stillThere(image: string, key: { dev: bigint; ino: bigint }): boolean {
  try {
    const stat = lstatSync(image, { bigint: true });
    return stat.dev === key.dev && stat.ino === key.ino;
  } catch {
    return false;
  }
}
