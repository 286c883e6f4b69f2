/**
 * The training keys: ext4 images made for a drill in the training folder and plugged in as loop
 * devices, which the device watcher then sees as USB keys (the folder is its loop-device folder in
 * a training session). Unplugging removes the image first, as a key pulled out would.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { requireBinary } from '../system/binaries';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';

const run = promisify(execFile);

export async function plugTrainingKey(dir: string, spec: { label: string; files: Record<string, string>; sizeMiB: number }): Promise<{ serial: string; unplug(): Promise<void> }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(dir, '.making-'));
  const serial = `${spec.label}-${randomBytes(3).toString('hex')}.img`;
  try {
    const content = join(staging, 'content');
    mkdirSync(content);
    for (const [name, text] of Object.entries(spec.files)) {
      writeFileSync(join(content, name), text);
      chmodSync(join(content, name), 0o644);
    }
    const image = join(staging, serial);
    writeFileSync(image, '');
    await run(requireBinary('truncate'), ['-s', `${spec.sizeMiB}M`, image]);
    await run(requireBinary('mkfs.ext4'), ['-q', '-L', spec.label, '-d', content, image]);
    renameSync(image, join(dir, serial));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const path = join(dir, serial);
  const devnode = await attachLoopWritable(path);
  return {
    serial,
    unplug: async () => {
      rmSync(path, { force: true });
      await detachLoop(devnode);
    },
  };
}
