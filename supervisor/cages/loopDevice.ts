/**
 * Loop devices, attached writable, over a descriptor (loopOverDescriptor.ts): the file is opened
 * once, without following a link at its name, and that open file is what the kernel attaches and
 * what an attached device is found by (device and inode), never its name again — losetup reopened
 * a name, and a name can be made to lead elsewhere between two looks (loopAttachRace.test.ts).
 *
 * Writable even where the last user left the device read-only: the kernel keeps a loop device's
 * read-only flag (BLKROSET) after it is detached, so whatever used that device last — a key
 * attached read-only, a media probe, a key pulled before its flag was lifted — would make the next
 * file attached there read-only: a home that cannot be written, a key that cannot be formatted.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { attachLoopOverDescriptor, loopDeviceOverDescriptor, type LoopRegion } from './loopOverDescriptor';

const run = promisify(execFile);
// libuv opens every file close-on-exec: no program started meanwhile inherits it.
const OPEN_EXACTLY = constants.O_NOFOLLOW | constants.O_NOCTTY;

/**
 * Attaches `file` (a home or key image, a marked key's device for its data `region`) to a free
 * loop device, writable. A link at `file`'s name, or anything but a regular file or a block
 * device, is refused before anything is attached.
 */
export async function attachLoopWritable(file: string, region?: LoopRegion): Promise<string> {
  const fd = openSync(file, constants.O_RDWR | OPEN_EXACTLY);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() && !stat.isBlockDevice()) throw new Error(`${file} is neither a regular file nor a block device: not attached`);
    return attachLoopOverDescriptor(fd, file, region);
  } finally {
    closeSync(fd);
  }
}

export async function makeWritable(device: string): Promise<void> {
  await run(requireBinary('blockdev'), ['--setrw', device]);
}

export async function detachLoop(device: string): Promise<void> {
  await run(requireBinary('losetup'), ['--detach', device]).catch(() => undefined); // already gone: nothing to do
}

/**
 * The loop device `file` is attached to, if any, found by the file's device and inode (as the
 * kernel holds them), not by the name sysfs shows: a name another file may bear now. No program
 * is started for it (start-up runs this for every cage). A link at `file`'s name is followed no
 * further: nothing is attached over a link.
 */
export function attachedLoopDevice(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | OPEN_EXACTLY);
  } catch {
    return null;
  }
  try {
    return loopDeviceOverDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}
