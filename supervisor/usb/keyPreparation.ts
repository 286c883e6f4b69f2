/**
 * The slow, destructive steps of marking and unmarking a key, each by a program of its own so the
 * supervisor keeps answering meanwhile: erasing a whole device (dd from /dev/zero, then a flush),
 * and making the filesystem of a marked key in its data region (ext4, through a loop device over
 * that region only, owned by the cage that will use it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';
import { dataRegion } from './keyMarks';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Overwrites the whole device with zeros: what a marked key held goes with its mark. */
export async function eraseDevice(devnode: string, deviceBytes: number): Promise<void> {
  const blocks = Math.ceil(deviceBytes / MiB);
  await run(requireBinary('dd'), ['if=/dev/zero', `of=${devnode}`, 'bs=1M', `count=${blocks}`, 'conv=fsync', 'status=none'], { timeout: 24 * 3600_000 }).catch((err: Error & { stderr?: string }) => {
    // dd stops with "No space left on device" at the very end of a device whose size is no whole MiB.
    if (!/No space left on device/.test(err.stderr ?? err.message)) throw new Error(`erasing failed: ${(err.stderr ?? err.message).trim().split('\n')[0]}`);
  });
}

/** Makes an ext4 filesystem in a marked key's data region, its root owned by the level's cage user. */
export async function formatDataRegion(devnode: string, deviceBytes: number, owner: number, label: string): Promise<void> {
  const region = dataRegion(deviceBytes);
  const loop = await attachLoopWritable(devnode, { offset: region.offset, sizeLimit: region.bytes });
  try {
    await run(requireBinary('mkfs.ext4'), ['-q', '-F', '-m', '0', '-L', label.slice(0, 16), '-E', `root_owner=${owner}:${owner},lazy_itable_init=1,lazy_journal_init=1,nodiscard`, loop]);
  } finally {
    await detachLoop(loop);
  }
}
