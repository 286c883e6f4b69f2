/**
 * Loop devices attached over an open descriptor, with no name looked up on the way. losetup takes
 * a path: given /proc/self/fd/N it canonicalises it and opens the result by name again, following
 * links — the name of a file unlinked meanwhile reads "<name> (deleted)", which anyone writing in
 * its folder can have made a link to another file beforehand. Here the kernel is handed the
 * descriptor itself (LOOP_CONFIGURE, Linux 5.8), and an attached file is found by what it is
 * (device and inode, LOOP_GET_STATUS64), never by its name. koffi calls ioctl(2) in libc, as for
 * the project's other system calls Node has no binding for (sandbox/peerCredentials.ts).
 */
import koffi from 'koffi';
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync } from 'node:fs';

const LOOP_CLR_FD = 0x4c01;
const LOOP_GET_STATUS64 = 0x4c05;
const LOOP_CONFIGURE = 0x4c0a;
const LOOP_CTL_GET_FREE = 0x4c82;
const BLKROSET = 0x125d;
const EBUSY = 16;
const ENXIO = 6;
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 6: 'ENXIO', 9: 'EBADF', 13: 'EACCES', 16: 'EBUSY', 22: 'EINVAL', 25: 'ENOTTY', 30: 'EROFS' };

/** struct loop_info64 (linux/loop.h): 232 bytes, the same on every Linux ABI (fixed-width fields). */
const INFO_SIZE = 232;
const INFO_DEVICE = 0;
const INFO_INODE = 8;
const INFO_OFFSET = 24;
const INFO_SIZE_LIMIT = 32;
const INFO_FILE_NAME = 56;
const LO_NAME_SIZE = 64;
/** struct loop_config: fd, block_size, then the loop_info64, then 64 reserved bytes. */
const CONFIG_SIZE = 8 + INFO_SIZE + 64;
const CONFIG_INFO = 8;

/** Attempts at a free device: another attacher may take the one the kernel named first (EBUSY). */
const FREE_DEVICE_ATTEMPTS = 16;

type Ioctl = (fd: number, request: number, ...args: unknown[]) => number;
let ioctl: Ioctl | null = null;

function call(fd: number, request: number, type: string, arg: unknown): number {
  ioctl ??= koffi.load('libc.so.6').func('int ioctl(int, unsigned long, ...)') as unknown as Ioctl;
  return ioctl(fd, request, type, arg);
}

function failure(what: string): Error & { code: string } {
  const errno = koffi.errno();
  const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  return Object.assign(new Error(`${what} failed: ${code}`), { code, errno });
}

/** What a file is, whatever its names: the kernel's device number (huge_encode_dev, as stat's st_dev here) and inode. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

export function identityOf(fd: number): FileIdentity {
  const stat = fstatSync(fd, { bigint: true });
  return { dev: stat.dev, ino: stat.ino };
}

/** The file a loop device is attached over, from the kernel; null when it is not attached. */
function backingOf(loopFd: number): FileIdentity | null {
  const info = Buffer.alloc(INFO_SIZE);
  if (call(loopFd, LOOP_GET_STATUS64, 'void *', info) !== 0) {
    if (koffi.errno() === ENXIO) return null;
    throw failure('LOOP_GET_STATUS64');
  }
  return { dev: info.readBigUInt64LE(INFO_DEVICE), ino: info.readBigUInt64LE(INFO_INODE) };
}

/** A part of the file only (a marked key's data region): from `offset`, `sizeLimit` bytes. */
export interface LoopRegion {
  offset: number;
  sizeLimit: number;
}

/**
 * Attaches the file open as `fd` (opened for reading and writing: the kernel attaches read-only a
 * descriptor that cannot write) to a free loop device, writable, and answers its path. `label` is
 * only what `losetup --list` shows as the file's name. The device is checked to be over that very
 * file before it is answered, and detached if not.
 */
export function attachLoopOverDescriptor(fd: number, label: string, region?: LoopRegion): string {
  const file = identityOf(fd);
  const control = openSync('/dev/loop-control', constants.O_RDWR);
  try {
    for (let attempt = 0; attempt < FREE_DEVICE_ATTEMPTS; attempt++) {
      const index = call(control, LOOP_CTL_GET_FREE, 'int', 0);
      if (index < 0) throw failure('LOOP_CTL_GET_FREE');
      const device = `/dev/loop${index}`;
      const loopFd = openSync(device, constants.O_RDWR);
      try {
        if (call(loopFd, LOOP_CONFIGURE, 'void *', loopConfig(fd, label, region)) !== 0) {
          if (koffi.errno() === EBUSY) continue; // taken between LOOP_CTL_GET_FREE and here
          throw failure(`LOOP_CONFIGURE on ${device}`);
        }
        const backing = backingOf(loopFd);
        if (!backing || backing.dev !== file.dev || backing.ino !== file.ino) {
          call(loopFd, LOOP_CLR_FD, 'int', 0);
          throw new Error(`${device} is not over the file given (${backing ? `${backing.dev}:${backing.ino}` : 'nothing'} instead of ${file.dev}:${file.ino}): detached`);
        }
        // The read-only flag a last user set (BLKROSET) outlives its detach (cages/loopDevice.ts).
        if (call(loopFd, BLKROSET, 'void *', new Int32Array([0])) !== 0) {
          const err = failure(`BLKROSET on ${device}`);
          call(loopFd, LOOP_CLR_FD, 'int', 0);
          throw err;
        }
        return device;
      } finally {
        closeSync(loopFd);
      }
    }
    throw new Error(`no free loop device after ${FREE_DEVICE_ATTEMPTS} attempts (each taken by another attacher first)`);
  } finally {
    closeSync(control);
  }
}

function loopConfig(fd: number, label: string, region?: LoopRegion): Buffer {
  const config = Buffer.alloc(CONFIG_SIZE); // block size 0 (the default), no flags: writable, not cleared on last close
  config.writeUInt32LE(fd, 0);
  if (region) {
    config.writeBigUInt64LE(BigInt(region.offset), CONFIG_INFO + INFO_OFFSET);
    config.writeBigUInt64LE(BigInt(region.sizeLimit), CONFIG_INFO + INFO_SIZE_LIMIT);
  }
  const name = Buffer.from(label);
  name.copy(config, CONFIG_INFO + INFO_FILE_NAME, 0, Math.min(name.length, LO_NAME_SIZE - 1));
  return config;
}

/** The loop device attached over the file open as `fd`, if any, found by device and inode: a name can lie, they cannot. */
export function loopDeviceOverDescriptor(fd: number): string | null {
  const file = identityOf(fd);
  for (const name of readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))) {
    if (!existsSync(`/sys/block/${name}/loop/backing_file`)) continue; // not attached: not opened at all
    let loopFd: number;
    try {
      loopFd = openSync(`/dev/${name}`, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      continue; // detached and removed meanwhile
    }
    try {
      const backing = backingOf(loopFd);
      if (backing && backing.dev === file.dev && backing.ino === file.ino) return `/dev/${name}`;
    } finally {
      closeSync(loopFd);
    }
  }
  return null;
}
