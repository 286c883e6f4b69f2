/**
 * What the USB broker does as root, each behind an interface of its own: reading a key (its mark,
 * its filesystem), mounting and unmounting it in a level's media folder, erasing and marking it.
 * The root part does them itself (the local implementations here, today's code); the `cloison`
 * part asks the cage manager (cageManager/remoteUsbKeys.ts), which decides from its own policy and its own mark
 * secret. The broker keeps every decision it made before; only where the root act runs changes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DeviceMode } from '../../shared/policy';
import { requireBinary } from '../system/binaries';
import { probeFilesystem, type FilesystemInfo, type ProbeRegion } from './filesystemProbe';
import { dataRegion, readMark, writeMark, type MarkReading, type StationKeys } from './keyMarks';
import { eraseDevice, formatDataRegion } from './keyPreparation';
import type { MountRequest } from './mediaMounts';
import type { BlockDevice } from './sysfsBlockDevices';

/** What a key is, as read on arrival or after it was marked: `problem` says why it cannot be used. */
export interface KeyExamination {
  mark: MarkReading;
  fs: FilesystemInfo | null;
  problem: string | null;
}

export interface KeyReader {
  /** Its mark, then its filesystem (in a marked key's data region). The policy's filesystem list is the broker's check. */
  examine(device: BlockDevice, levels: readonly string[]): Promise<KeyExamination>;
}

export interface KeyMounts {
  /** The media root made shared, one folder per level (before any cage binds its folder). */
  prepare(levels: readonly string[]): Promise<void>;
  /** Mounts the key at `<root>/<level>/<name>`; answers where. */
  mount(req: MountRequest): Promise<string>;
  /** Flushed and unmounted; left mounted (and thrown) when busy. */
  eject(target: string, devnode: string, mode: DeviceMode): Promise<void>;
  /** The key was pulled out (or the supervisor stops): unmounted at once, never failing. */
  detachGone(target: string, devnode: string): Promise<void>;
  /** A loop device (a training key) freed after a read-only attachment keeps the flag: lifted. */
  releaseReadOnly(devnode: string): Promise<void>;
  /** Every key under the root unmounted, and the root (the supervisor stops). */
  unmountAllUnder(): Promise<void>;
}

export interface KeyPreparer {
  /** Erased (whole when it carried any mark), signed for `level`, an ext4 owned by `uid` in its data region. */
  mark(device: BlockDevice, current: MarkReading, level: string, uid: number): Promise<{ markId: string; erased: 'whole' | 'ends' }>;
  /** Erased whole, mark and all. `level`: the level asking (the one its mark names, or one it may go to; null: none). */
  unmark(device: BlockDevice, level: string | null): Promise<void>;
}

/** All three: what wireUsb is given (the manager's, cageManager/remoteUsbKeys.ts) or makes (the local ones). */
export interface UsbRootActs {
  mounts: KeyMounts;
  reader: KeyReader;
  preparer: KeyPreparer;
}

/** The root part's reading: the mark read here with the station's secret, the filesystem probed in the sandbox. */
export function localKeyReader(stationKeys: StationKeys, probe: (devnode: string, region?: ProbeRegion) => Promise<FilesystemInfo | null> = probeFilesystem): KeyReader {
  return {
    async examine(device, levels) {
      let mark: MarkReading;
      try {
        mark = readMark(device.devnode, device.sizeBytes, stationKeys, levels);
      } catch (err) {
        return { mark: { status: 'none' }, fs: null, problem: `cannot read the device: ${(err as Error).message}` };
      }
      if (mark.status === 'invalid') return { mark, fs: null, problem: `refused: ${mark.reason}` };
      // A marked key (here or elsewhere) keeps its filesystem between the two copies of its mark.
      const region = mark.status === 'valid' || mark.status === 'foreign' ? dataRegion(device.sizeBytes) : undefined;
      try {
        const fs = await probe(device.devnode, region);
        return { mark, fs, problem: fs ? null : NO_FILESYSTEM };
      } catch (err) {
        return { mark, fs: null, problem: (err as Error).message };
      }
    },
  };
}

export const NO_FILESYSTEM = 'no filesystem recognised (blank, encrypted, or damaged beyond recognition)';

/** The root part's preparation: today's steps, the device made writable first (a read-only attachment leaves BLKROSET). */
export function localKeyPreparer(stationKeys: StationKeys): KeyPreparer {
  return {
    async mark(device, current, level, uid) {
      await writable(device.devnode);
      const wasMarked = current.status !== 'none';
      if (wasMarked) await eraseDevice(device.devnode, device.sizeBytes);
      const { markId } = writeMark(device.devnode, device.sizeBytes, stationKeys, level);
      await formatDataRegion(device.devnode, device.sizeBytes, uid, level.toUpperCase());
      return { markId, erased: wasMarked ? 'whole' : 'ends' };
    },
    async unmark(device) {
      await writable(device.devnode);
      await eraseDevice(device.devnode, device.sizeBytes);
    },
  };
}

/** A read-only attachment leaves the device read-only (BLKROSET); marking and erasing write to it. */
export async function writable(devnode: string): Promise<void> {
  await promisify(execFile)(requireBinary('blockdev'), ['--setrw', devnode]);
}
