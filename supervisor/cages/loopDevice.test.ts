/**
 * A loop device left write-protected by its last user (a key attached read-only, a media probe)
 * does not make the next file attached there read-only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachedLoopDevice, attachLoopWritable, detachLoop } from './loopDevice';
import { leaveWriteProtectedFreeDevice } from '../testing/writeProtectedFreeDevice';

describe('loop devices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-loop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('attaches writable even where the last user left the device read-only', async () => {
    const image = join(dir, 'key.img');
    writeFileSync(image, '');
    truncateSync(image, 4 * 2 ** 20);
    // The device the kernel hands out next, most likely, write-protected as a read-only key leaves one.
    await leaveWriteProtectedFreeDevice(dir);
    const device = await attachLoopWritable(image);
    try {
      expect(execFileSync('blockdev', ['--getro', device], { encoding: 'utf8' }).trim()).toBe('0');
      execFileSync('dd', ['if=/dev/zero', `of=${device}`, 'bs=64k', 'count=1', 'conv=fsync', 'status=none']);
    } finally {
      await detachLoop(device);
    }
  });

  it('finds the device a file is attached to, as losetup -j does, and none for a file not attached', async () => {
    const image = join(dir, 'home.img');
    writeFileSync(image, '');
    truncateSync(image, 4 * 2 ** 20);
    expect(attachedLoopDevice(image)).toBeNull();
    expect(attachedLoopDevice(join(dir, 'no-such.img'))).toBeNull();
    const device = await attachLoopWritable(image);
    try {
      expect(attachedLoopDevice(image)).toBe(device);
      expect(execFileSync('losetup', ['-j', image], { encoding: 'utf8' })).toContain(`${device}:`);
    } finally {
      await detachLoop(device);
    }
    expect(attachedLoopDevice(image)).toBeNull();
  });
});

describe('loop devices and links', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-looplink-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a link at a file\'s name is followed neither to attach nor to find: the device over its target is not that name\'s', async () => {
    const other = join(dir, 'other-home.img');
    writeFileSync(other, '');
    truncateSync(other, 4 * 2 ** 20);
    const link = join(dir, 'home.img');
    symlinkSync(other, link);
    const device = await attachLoopWritable(other);
    try {
      // By name (realpath, then sysfs's backing_file) the link's target's device was answered for the link.
      expect(attachedLoopDevice(link)).toBeNull();
      expect(attachedLoopDevice(other)).toBe(device);
      await expect(attachLoopWritable(link)).rejects.toThrow(/ELOOP/);
      expect(execFileSync('losetup', ['-j', other], { encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
    } finally {
      await detachLoop(device);
    }
  });

  it('attaches a region of a file (a marked key\'s data region): its offset and size', async () => {
    const key = join(dir, 'key.img');
    writeFileSync(key, Buffer.concat([Buffer.alloc(2 ** 20, 0x11), Buffer.alloc(2 ** 20, 0x22), Buffer.alloc(2 ** 20, 0x33)]));
    const device = await attachLoopWritable(key, { offset: 2 ** 20, sizeLimit: 2 ** 20 });
    try {
      expect(execFileSync('blockdev', ['--getsize64', device], { encoding: 'utf8' }).trim()).toBe(String(2 ** 20));
      const bytes = execFileSync('dd', [`if=${device}`, 'bs=1M', 'count=1', 'status=none']);
      expect(bytes.every((b) => b === 0x22)).toBe(true);
    } finally {
      await detachLoop(device);
    }
  });
});
