/**
 * A loop device left write-protected by its last user (a key attached read-only, a media probe)
 * does not make the next file attached there read-only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachedLoopDevice, attachLoopWritable, detachLoop } from './loopDevice';

describe('loop devices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-loop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('attaches writable even where the last user left the device read-only', async () => {
    const image = join(dir, 'key.img');
    writeFileSync(image, '');
    truncateSync(image, 4 * 2 ** 20);
    // The device losetup takes next, write-protected as a read-only key would have left it.
    const next = execFileSync('losetup', ['--find'], { encoding: 'utf8' }).trim();
    execFileSync('blockdev', ['--setro', next]);
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
