/**
 * Test helper: USB keys as real block devices — small vfat or ext4 images on loop devices.
 * Images are built in a staging folder, then moved into the folder the policy's
 * `usb.loopDevices.backingDir` names, so the supervisor sees exactly the keys of its own test.
 * "Plugging" attaches a loop device; "pulling" deletes the image and detaches the loop device,
 * which is what the kernel shows when a key is yanked (the backing file is gone).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';

const run = promisify(execFile);

export type KeyFormat = 'vfat' | 'ext4' | 'blank' | 'corrupt-ext4';

export interface KeySpec {
  format: KeyFormat;
  /** File name of the image (it becomes the loop device's "serial"). */
  fileName: string;
  label?: string;
  /** vfat: 8 hex digits (volume id); ext4: a UUID. */
  uuid?: string;
  files?: Record<string, string>;
  sizeMiB?: number;
  /** ext4: owner of the root folder and files (a key formatted by that user). */
  owner?: number;
  /** Changes the built image before it is plugged (a mark written by a test, say). */
  alter?: (image: string) => void | Promise<void>;
}

/** Whether the running kernel can mount this filesystem type (some kernels ship without vfat). */
export function kernelHasFilesystem(type: string): boolean {
  return readFileSync('/proc/filesystems', 'utf8').split('\n').some((line) => line.split('\t')[1] === type);
}

export interface PluggedKey {
  image: string;
  devnode: string;
  pull(): Promise<void>;
}

export class LoopKeys {
  readonly backingDir: string;
  private readonly staging: string;
  private readonly plugged = new Set<string>();

  constructor(root: string) {
    this.backingDir = join(root, 'keys');
    this.staging = join(root, 'staging');
    mkdirSync(this.backingDir, { recursive: true });
    mkdirSync(this.staging, { recursive: true });
  }

  async plug(spec: KeySpec): Promise<PluggedKey> {
    const built = join(this.staging, spec.fileName);
    await this.build(built, spec);
    await spec.alter?.(built);
    return this.plugImage(built, spec.fileName);
  }

  /** Plugs an image made elsewhere (a copy of a key taken earlier, say): it moves into the keys' folder. */
  async plugImage(built: string, fileName: string): Promise<PluggedKey> {
    const image = join(this.backingDir, fileName);
    renameSync(built, image);
    const devnode = await attachLoopWritable(image);
    this.plugged.add(devnode);
    return {
      image,
      devnode,
      pull: async () => {
        rmSync(image, { force: true });
        await run('losetup', ['--detach', devnode]).catch(() => undefined);
        this.plugged.delete(devnode);
      },
    };
  }

  /** Detaches every loop device this helper attached (mounted ones free themselves once unmounted). */
  async cleanup(): Promise<void> {
    for (const devnode of this.plugged) await run('losetup', ['--detach', devnode]).catch(() => undefined);
    this.plugged.clear();
  }

  private async build(image: string, spec: KeySpec): Promise<void> {
    writeFileSync(image, Buffer.alloc(0));
    await run('truncate', ['-s', `${spec.sizeMiB ?? 8}M`, image]);
    if (spec.format === 'blank') return;
    if (spec.format === 'vfat') {
      await run('mkfs.vfat', [...(spec.label ? ['-n', spec.label] : []), ...(spec.uuid ? ['-i', spec.uuid] : []), image]);
      if (spec.files) await this.fillByMount(image, spec.files);
      return;
    }
    const content = mkdtempSync(join(this.staging, 'content-'));
    for (const [name, text] of Object.entries(spec.files ?? {})) {
      writeFileSync(join(content, name), text, { mode: 0o644 });
      if (spec.owner !== undefined) chownSync(join(content, name), spec.owner, spec.owner);
    }
    const owner = spec.owner !== undefined ? ['-E', `root_owner=${spec.owner}:${spec.owner}`] : [];
    await run('mkfs.ext4', ['-q', ...owner, ...(spec.label ? ['-L', spec.label] : []), ...(spec.uuid ? ['-U', spec.uuid] : []), '-d', content, image]);
    rmSync(content, { recursive: true, force: true });
    // Garbage over the group descriptors: blkid still says ext4, mounting fails.
    if (spec.format === 'corrupt-ext4') await run('dd', ['if=/dev/urandom', `of=${image}`, 'bs=1024', 'seek=2', 'count=1', 'conv=notrunc', 'status=none']);
  }

  private async fillByMount(image: string, files: Record<string, string>): Promise<void> {
    const mnt = mkdtempSync(join(this.staging, 'mnt-'));
    // Attached writable first, not `mount -o loop`: the free device it would take may be
    // write-protected by its last user (a key another test ejected read-only), mounting it read-only.
    const device = await attachLoopWritable(image);
    try {
      await run('mount', [device, mnt]);
      try {
        for (const [name, text] of Object.entries(files)) writeFileSync(join(mnt, name), text);
      } finally {
        await run('umount', [mnt]);
      }
    } finally {
      await detachLoop(device);
      rmSync(mnt, { recursive: true, force: true });
    }
  }
}
