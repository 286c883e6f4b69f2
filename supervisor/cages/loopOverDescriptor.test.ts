/**
 * Loop devices attached over a descriptor and found by device and inode (loopOverDescriptor.ts),
 * on real loop devices: writable even where the device's last user left it read-only, over the
 * very file open even once its name is gone and "<name> (deleted)" is a link to another file
 * (losetup given /proc/self/fd attached that other file: loopAttachRace.test.ts), and a file
 * found attached by what it is, not by a name another file may now bear.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/realCage';
import { detachLoop } from './loopDevice';
import { attachLoopOverDescriptor, loopDeviceOverDescriptor } from './loopOverDescriptor';
import { leaveWriteProtectedFreeDevice } from '../testing/writeProtectedFreeDevice';

let dir: string;
const inodes = new Set<number>();

/** A 4 MiB image of `byte`s, its inode noted for the clean-up. */
function image(name: string, byte = 0): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(4 * 2 ** 20, byte));
  inodes.add(statSync(path).ino);
  return path;
}

function backingInode(device: string): number {
  return Number(execFileSync('losetup', ['--list', '--noheadings', '--output', 'BACK-INO', device], { encoding: 'utf8' }).trim());
}

function withOpen<T>(path: string, flags: number, act: (fd: number) => T): T {
  const fd = openSync(path, flags);
  try {
    return act(fd);
  } finally {
    closeSync(fd);
  }
}

beforeAll(() => {
  dir = testRoot('cloison-loopfd-');
});

afterAll(async () => {
  for (const name of readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n) && existsSync(`/sys/block/${n}/loop/backing_file`))) {
    if (inodes.has(backingInode(`/dev/${name}`))) await detachLoop(`/dev/${name}`);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('loop devices over a descriptor', () => {
  it('attaches the file open, writable, even where the last user left the device read-only', async () => {
    const key = image('key.img');
    // The device the kernel hands out next, write-protected as a read-only key would have left it.
    await leaveWriteProtectedFreeDevice(dir);
    const device = withOpen(key, constants.O_RDWR, (fd) => attachLoopOverDescriptor(fd, key));
    try {
      expect(backingInode(device)).toBe(statSync(key).ino);
      expect(execFileSync('blockdev', ['--getro', device], { encoding: 'utf8' }).trim()).toBe('0');
      execFileSync('dd', ['if=/dev/zero', `of=${device}`, 'bs=64k', 'count=1', 'conv=fsync', 'status=none']);
      expect(execFileSync('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE', device], { encoding: 'utf8' }).trim()).toBe(key);
    } finally {
      await detachLoop(device);
    }
  });

  it('attaches the file open once its name is gone, not the file a link named "<name> (deleted)" leads to', async () => {
    const other = image('other-home.img', 0x48);
    const key = image('gone.img');
    symlinkSync(other, `${key} (deleted)`);
    const device = withOpen(key, constants.O_RDWR, (fd) => {
      const ino = statSync(key).ino;
      unlinkSync(key);
      const attached = attachLoopOverDescriptor(fd, key);
      expect(backingInode(attached), 'the inode attached: the file open, not the link\'s target').toBe(ino);
      return attached;
    });
    await detachLoop(device);
    // losetup given the same descriptor, for comparison: what it attaches, said, not asserted.
    const key2 = image('gone2.img');
    symlinkSync(other, `${key2} (deleted)`);
    const fd = openSync(key2, constants.O_RDWR);
    unlinkSync(key2);
    const byLosetup = spawnSync('losetup', ['--find', '--show', '/proc/self/fd/3'], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
    closeSync(fd);
    const losetupDevice = byLosetup.stdout.trim();
    if (losetupDevice) {
      console.log(`losetup over /proc/self/fd/3 of the unlinked key attached inode ${backingInode(losetupDevice)} (the other file's is ${statSync(other).ino})`);
      await detachLoop(losetupDevice);
    }
  });

  it('finds a file attached by device and inode, not by a name another file now bears', async () => {
    const first = image('home.img');
    const device = withOpen(first, constants.O_RDWR, (fd) => attachLoopOverDescriptor(fd, first));
    try {
      renameSync(first, join(dir, 'moved.img'));
      const impostor = image('home.img'); // the attached file's old name, now another file
      expect(withOpen(impostor, constants.O_RDONLY, loopDeviceOverDescriptor)).toBeNull();
      expect(withOpen(join(dir, 'moved.img'), constants.O_RDONLY, loopDeviceOverDescriptor)).toBe(device);
    } finally {
      await detachLoop(device);
    }
    expect(withOpen(join(dir, 'moved.img'), constants.O_RDONLY, loopDeviceOverDescriptor)).toBeNull();
  });
});
