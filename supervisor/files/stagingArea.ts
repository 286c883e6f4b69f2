/**
 * The file broker's staging area: the supervisor's own tmpfs (root's, 0700, noexec), where every
 * file is staged between its one read and the user's decision. No cage sees it. In memory, because
 * staging on disk would write every file twice before it lands (the staged copy is read back at
 * once); its size is the largest transfer the policy allows, a limit and not a reservation, and
 * tmpfs pages can be swapped out like any other.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from '../system/binaries';
import { unmount } from '../cages/cageMounts';

const run = promisify(execFile);

export async function mountStagingArea(dir: string, bytes: number): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await unmount(dir);
  await run(requireBinary('mount'), ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700,nosuid,nodev,noexec`, 'cloison-staging', dir]);
  chmodSync(dir, 0o700);
}

export async function unmountStagingArea(dir: string): Promise<void> {
  await unmount(dir);
}

/** Removes whatever an interrupted transfer left staged (the area itself stays). */
export function emptyStagingArea(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
}
