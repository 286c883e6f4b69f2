/**
 * Test folders, made short (Unix socket paths are limited to 108 bytes) and removed at the end of
 * the test file that made them, whatever its own cleanup did: homes are reserved whole, so a folder
 * left behind costs its homes' full size, and a few runs' leftovers fill the disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

export function testRoot(prefix = 'cloison-t-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  made.add(root);
  return root;
}

/** Removes every folder `testRoot` made in this test file: unmounted, its loop devices detached, deleted. */
export function removeTestRoots(): void {
  for (const root of made) removeTestRoot(root);
  made.clear();
}

export function removeTestRoot(root: string): void {
  const inside = (path: string) => path === root || path.startsWith(`${root}/`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '').filter(inside);
  // Deepest first, lazily: a cage the test forgot may still hold one.
  for (const mount of mounts.sort().reverse()) spawnSync('umount', ['-l', mount]);
  for (const name of readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))) {
    let backing = '';
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trimEnd();
    } catch {
      continue; // not attached
    }
    // A deleted backing file still holds its space while attached: the kernel names it "(deleted)".
    if (inside(backing.replace(/ \(deleted\)$/, ''))) spawnSync('losetup', ['--detach', `/dev/${name}`]);
  }
  rmSync(root, { recursive: true, force: true });
}
