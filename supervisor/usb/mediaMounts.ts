/**
 * Mounts devices where exactly one cage sees them. The supervisor's media root holds one folder
 * per level; each bwrap cage has its own level's folder bound at ~/Media. The root is a shared
 * mount, and bwrap makes the cage's mounts slaves of the host's, so a filesystem mounted under
 * <root>/<level>/ appears in that cage at once — no cage restart — and in no other.
 *
 * Every mount is nosuid,nodev,noexec; read-only ones also set the block device read-only and skip
 * journal replay, so not one byte is written to the device.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceMode } from '../../shared/policy';
import { requireBinary } from '../system/binaries';
import type { KeyMounts } from './keyRootActs';

export interface MountRequest {
  devnode: string;
  fsType: string;
  mode: DeviceMode;
  level: string;
  /** Folder name under the level's media folder (already sanitised). */
  name: string;
  /** Owner of FAT/exFAT/NTFS files (they have no owners of their own): the cage's uid. */
  uid: number;
  /** Where the filesystem lies on the device (a marked key's data region); the whole device if absent. */
  region?: { offset: number; bytes: number };
}

const OWNERLESS = new Set(['vfat', 'exfat', 'ntfs3', 'iso9660', 'udf']);
const EXT = new Set(['ext2', 'ext3', 'ext4']);
const COMMAND_TIMEOUT_MS = 30_000;

export class MediaMounts implements KeyMounts {
  constructor(readonly root: string) {}

  levelDir(level: string): string {
    return join(this.root, level);
  }

  /** Makes the root a shared mount (cleaning up what a killed supervisor left), one folder per level. */
  async prepare(levels: readonly string[]): Promise<void> {
    // 0700: host users cannot walk into a mounted key; each cage sees its own folder through its bind.
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
    await this.unmountAllUnder();
    await run('mount', ['--bind', this.root, this.root]);
    await run('mount', ['--make-shared', this.root]);
    for (const level of levels) {
      mkdirSync(this.levelDir(level), { recursive: true, mode: 0o755 });
      chmodSync(this.levelDir(level), 0o755);
    }
  }

  async mount(req: MountRequest): Promise<string> {
    const target = join(this.levelDir(req.level), req.name);
    mkdirSync(target, { mode: 0o755 });
    const options = ['nosuid', 'nodev', 'noexec', req.mode === 'read-only' ? 'ro' : 'rw'];
    if (OWNERLESS.has(req.fsType)) options.push(`uid=${req.uid}`, `gid=${req.uid}`, 'umask=077');
    if (EXT.has(req.fsType) && req.mode === 'read-only') options.push('noload');
    // A region of the device: mount makes a loop device over it (read-only with -r), gone at umount.
    if (req.region) options.push('loop', `offset=${req.region.offset}`, `sizelimit=${req.region.bytes}`);
    try {
      // The device's read-only flag may be left from an earlier read-only attachment: set it to
      // the mode wanted, and forbid mount's silent fallback to read-only (-w) so a
      // write-protected key gives an error rather than a surprise.
      await run('blockdev', [req.mode === 'read-only' ? '--setro' : '--setrw', req.devnode]);
      await run('mount', [req.mode === 'read-only' ? '-r' : '-w', '-t', req.fsType, '-o', options.join(','), req.devnode, target]);
      return target;
    } catch (err) {
      removeDir(target);
      if (req.mode === 'read-only') await run('blockdev', ['--setrw', req.devnode]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Eject: flush then unmount. A busy filesystem is left mounted and reported, so no write is
   * lost; the device is then put back read-write for its next attachment.
   */
  async eject(target: string, devnode: string, mode: DeviceMode): Promise<void> {
    if (mode === 'read-write') await run('sync', ['--file-system', target]);
    await run('umount', [target]);
    removeDir(target);
    if (mode === 'read-only') await run('blockdev', ['--setrw', devnode]).catch(() => undefined);
  }

  /** The device is gone: detach at once (lazy, no sync — a dead device must not hang us). */
  async detachGone(target: string): Promise<void> {
    await run('umount', ['--lazy', target]).catch(() => undefined);
    removeDir(target);
  }

  /** A loop device keeps its read-only flag once freed: its next user must not inherit it. */
  async releaseReadOnly(devnode: string): Promise<void> {
    await run('blockdev', ['--setrw', devnode]);
  }

  /** Unmounts everything under the root, deepest first, and the root itself. */
  async unmountAllUnder(): Promise<void> {
    const mounted = mountPointsUnder(this.root).sort((a, b) => b.length - a.length);
    for (const point of mounted) await run('umount', ['--lazy', point]).catch(() => undefined);
    for (const point of mounted) if (point !== this.root) removeDir(point);
  }
}

/** Mount points at or under `root`, from this process's mountinfo (octal escapes undone). */
export function mountPointsUnder(root: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === root || point.startsWith(`${root}/`)) out.push(point);
  }
  return out;
}

function removeDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still a mount point (lazy unmount pending) or already gone: left for the next clean-up.
  }
}

function run(command: string, args: string[]): Promise<void> {
  const binary = requireBinary(command);
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = stderr.trim().split('\n')[0] || err.message.split('\n')[0];
      reject(new Error(`${command} failed: ${why}`));
    });
  });
}
