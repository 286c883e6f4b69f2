/**
 * Test helper: a free loop device left write-protected, as a read-only key leaves one (the kernel
 * keeps a loop device's read-only flag after its detach), for tests of what is attached next.
 *
 * The flag is set while the device is attached over a file of the test's own, then that file is
 * detached: setting it on the device `losetup --find` names raced with every test attaching at the
 * same time (vitest runs files in parallel), whose freshly attached key or cage home could be
 * that device by the time the flag was set, and became read-only under it.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';

let made = 0;

/** Leaves a loop device free and write-protected, and answers it: most likely the one the kernel hands out next. */
export async function leaveWriteProtectedFreeDevice(dir: string): Promise<string> {
  const file = join(dir, `write-protected-${made++}.img`);
  writeFileSync(file, '');
  truncateSync(file, 2 ** 20);
  const device = await attachLoopWritable(file);
  try {
    execFileSync('blockdev', ['--setro', device]);
  } finally {
    await detachLoop(device);
    rmSync(file, { force: true });
  }
  return device;
}
