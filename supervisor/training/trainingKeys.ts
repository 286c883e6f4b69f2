/**
 * The training keys: ext4 images made for a drill in the training folder and plugged in as loop
 * devices, which the device watcher then sees as USB keys (the folder is its loop-device folder in
 * a training session). Unplugging removes the image first, as a key pulled out would.
 *
 * The image is made by the supervisor itself (mkfs.ext4 on a file of its own: no privilege); only
 * attaching it as a loop device, and detaching it, needs root: the root part does it here
 * (`localKeyLoops`), the `cloison` part asks the cage manager (cageManager/remoteTrainingKeys.ts).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { requireBinary } from '../system/binaries';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';

const run = promisify(execFile);

/** How a training key's image becomes a loop device and stops being one. */
export interface TrainingKeyLoops {
  attach(image: string): Promise<string>;
  detach(devnode: string): Promise<void>;
}

export const localKeyLoops: TrainingKeyLoops = { attach: (image) => attachLoopWritable(image), detach: detachLoop };

export async function plugTrainingKey(dir: string, spec: { label: string; files: Record<string, string>; sizeMiB: number }, loops: TrainingKeyLoops = localKeyLoops): Promise<{ serial: string; unplug(): Promise<void> }> {
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
  const devnode = await loops.attach(path);
  return {
    serial,
    unplug: async () => {
      rmSync(path, { force: true });
      await loops.detach(devnode);
    },
  };
}
