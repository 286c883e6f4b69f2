/**
 * Loop devices, attached writable. The kernel keeps a loop device's read-only flag (BLKROSET)
 * after it is detached, so whatever used that device last — a key attached read-only, a media
 * probe, a key pulled before its flag was lifted — would make the next file attached there
 * read-only: a home that cannot be written, a key that cannot be formatted.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';

const run = promisify(execFile);

/** Attaches `file` (losetup's own options first: --offset, --sizelimit) to a free loop device, writable. */
export async function attachLoopWritable(file: string, options: string[] = []): Promise<string> {
  const { stdout } = await run(requireBinary('losetup'), ['--find', '--show', ...options, file]);
  const device = stdout.trim();
  await makeWritable(device);
  return device;
}

export async function makeWritable(device: string): Promise<void> {
  await run(requireBinary('blockdev'), ['--setrw', device]);
}

export async function detachLoop(device: string): Promise<void> {
  await run(requireBinary('losetup'), ['--detach', device]).catch(() => undefined); // already gone: nothing to do
}

/**
 * The loop device `file` is attached to, if any: read from sysfs, as `losetup -j` would tell,
 * without a program started for it (start-up runs this for every cage).
 */
export function attachedLoopDevice(file: string): string | null {
  let target: string;
  try {
    target = realpathSync(file);
  } catch {
    return null;
  }
  for (const name of readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))) {
    try {
      if (readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trimEnd() === target) return `/dev/${name}`;
    } catch {
      /* not attached */
    }
  }
  return null;
}
