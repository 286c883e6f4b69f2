/**
 * The manager's side of `loop.attach`: a training or test key's image, in the folder the policy
 * names for loop-device keys (the authorization checked the path), attached to a free loop device,
 * writable (cages/loopDevice.ts). The image is opened here first and must be a regular file —
 * not a device node of the system disk, not a FIFO, not a folder — and losetup is given that very
 * descriptor (/proc/self/fd), so the file attached is the file checked. An image already attached
 * answers with its device.
 */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { attachedLoopDevice, makeWritable } from '../cages/loopDevice';
import { requireBinary } from '../system/binaries';
import { openedExactly, refused } from './openedExactly';
import type { RequestOf } from './requests';

export function loopAttachExecutor(): (req: RequestOf<'loop.attach'>) => Promise<{ device: string }> {
  return async (req) => {
    const { fd, stat } = openedExactly(req.image);
    try {
      if (!stat.isFile()) throw refused(`image ${JSON.stringify(req.image.slice(0, 200))} is not a regular file`);
      const already = attachedLoopDevice(req.image);
      if (already) return { device: already };
      const device = await losetupOver(fd);
      await makeWritable(device);
      return { device };
    } finally {
      closeSync(fd);
    }
  };
}

/** `losetup --find --show /proc/self/fd/3`, the descriptor as its fd 3: the kernel attaches the open file. */
function losetupOver(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(requireBinary('losetup'), ['--find', '--show', '/proc/self/fd/3'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const device = out.trim();
      if (code === 0 && /^\/dev\/loop\d+$/.test(device)) resolve(device);
      else reject(new Error(`losetup failed (exit ${code}): ${err.trim().slice(0, 200)}`));
    });
  });
}
