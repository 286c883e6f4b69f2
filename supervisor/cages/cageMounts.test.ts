/**
 * A cage's writable places are filesystems of its own: the home an ext4 image of its size limit
 * (a home from before images is copied in, losing nothing), the scratch tmpfs sized too; and what
 * a cage wrote is still there at its next start.
 */
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMountPoint } from './cageMounts';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { leaveWriteProtectedFreeDevice } from '../testing/writeProtectedFreeDevice';

describe('cage filesystems', () => {
  const root = testRoot();
  const cages: RealCage[] = [];
  afterAll(async () => {
    for (const c of cages) await c.stop();
  });

  it('moves a home from before images into its image, links kept, every file the cage\'s, and keeps it across restarts', async () => {
    const home = join(root, 'state', 'cages', 'low', 'home');
    mkdirSync(join(home, 'Documents'), { recursive: true });
    writeFileSync(join(home, 'Documents', 'notes.txt'), 'written before the upgrade\n');
    chownSync(join(home, 'Documents', 'notes.txt'), 4242, 4242);
    symlinkSync('Documents/notes.txt', join(home, 'notes-link'));
    const first = await startRealCage({ level: 'low', root, limits: { homeBytes: 64 * 2 ** 20 } });
    expect(isMountPoint(home)).toBe(true);
    expect(statSync(join(home, 'Documents', 'notes.txt')).uid).toBe(first.uid); // copied as the cage's uid (homeMigration.ts)
    expect(lstatSync(join(home, 'notes-link')).isSymbolicLink()).toBe(true); // links stay links
    expect([statSync(home).uid, statSync(home).mode & 0o777]).toEqual([first.uid, 0o700]); // the home is the cage's
    expect(existsSync(join(root, 'state', 'cages', 'low', 'home.img'))).toBe(true);
    expect(existsSync(`${home}.migrating`)).toBe(false);
    const seen = await first.sh('cat $HOME/notes-link; echo kept > $HOME/after.txt; df -k $HOME | tail -1');
    expect(seen.stdout).toContain('written before the upgrade');
    // The image's size is the policy's limit (64 MiB, less ext4's own overhead).
    const size = Number(seen.stdout.trim().split('\n').at(-1)!.split(/\s+/)[1]);
    expect(size).toBeGreaterThan(50 * 1024);
    expect(size).toBeLessThanOrEqual(64 * 1024);
    await first.stop();
    expect(isMountPoint(home)).toBe(false); // unmounted with the cage

    const again = await startRealCage({ level: 'low', root, limits: { homeBytes: 64 * 2 ** 20 } });
    cages.push(again);
    expect((await again.sh('cat $HOME/after.txt $HOME/Documents/notes.txt')).stdout).toBe('kept\nwritten before the upgrade\n');
    expect(readFileSync(join(home, 'after.txt'), 'utf8')).toBe('kept\n');
  });

  it('a loop device left write-protected (a read-only USB key was on it) still gives a writable home', async () => {
    // The kernel keeps a loop device's read-only flag after detach; `mount -o loop` then mounts
    // the next home read-only and the cage cannot start. The free device is the one mount takes.
    const own = testRoot();
    await leaveWriteProtectedFreeDevice(own);
    const cage = await startRealCage({ level: 'low', root: own, limits: { homeBytes: 32 * 2 ** 20 } });
    cages.push(cage);
    expect((await cage.sh('echo written > $HOME/probe && cat $HOME/probe')).stdout).toBe('written\n');
  });

  it('gives /tmp, /var/tmp and /dev/shm one tmpfs of the policy\'s size', async () => {
    const cage = await startRealCage({ level: 'high', limits: { tmpfsBytes: 8 * 2 ** 20 } });
    cages.push(cage);
    const r = await cage.sh('dd if=/dev/zero of=/tmp/fill bs=1M count=16 2>&1; df -k /dev/shm | tail -1');
    expect(r.stdout).toMatch(/No space left on device/);
    expect(Number(r.stdout.trim().split('\n').at(-1)!.split(/\s+/)[1])).toBe(8 * 1024);
  });
});
