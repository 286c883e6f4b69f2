/**
 * The staging area the cage manager mounts for the `cloison` part (#29), which cannot mount one:
 * a tmpfs whose root is the part's account's, 0700, as large as the largest transfer. The part
 * writes in it; past its size a write fails (what bounds the part's staging, not the part's control
 * group, whose memory limit does not count disk); another account cannot enter it; nothing staged
 * runs from it. The part sees it as a tmpfs, and says so when there is none.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/testRoots';
import type { FileBroker } from './fileBroker';
import { prepareRemoteFileStaging } from './fileStaging';
import { mountStagingArea, stagingAreaFilesystem, unmountStagingArea } from './stagingArea';

let root: string;
let part: PamTestUser;
let other: PamTestUser;
const as = (user: PamTestUser, script: string) =>
  spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--no-new-privs', '/bin/sh', '-c', script], { encoding: 'utf8' });

beforeAll(() => {
  root = testRoot('cloison-stg-');
  chmodSync(root, 0o711);
  part = createPamTestUser();
  other = createPamTestUser();
});

afterAll(async () => {
  await unmountStagingArea(join(root, 'staging')).catch(() => undefined);
  part?.remove();
  other?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('the staging area mounted for the cloison part', () => {
  it('is the part\'s tmpfs, bounded in size; another account cannot enter it; nothing runs from it', async () => {
    const dir = join(root, 'staging');
    expect(stagingAreaFilesystem(dir)).toBeNull();
    await mountStagingArea(dir, 4 * 1024 * 1024, part);
    expect(stagingAreaFilesystem(dir)).toBe('tmpfs');
    expect(statSync(dir)).toMatchObject({ uid: part.uid, gid: part.gid });
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    // The part stages a file within the size; past it the write fails.
    expect(as(part, `head -c 1048576 /dev/zero > ${dir}/a && echo staged`).stdout.trim()).toBe('staged');
    const over = as(part, `head -c 8388608 /dev/zero > ${dir}/b`);
    expect(over.status).not.toBe(0);
    expect(over.stderr).toMatch(/No space left on device/);
    // A staged file cannot be run, even made executable by its owner.
    const run = as(part, `rm -f ${dir}/b; printf '#!/bin/sh\\necho ran\\n' > ${dir}/x && chmod 755 ${dir}/x && ${dir}/x`);
    expect(run.stdout).not.toContain('ran');
    expect(run.stderr).toMatch(/Permission denied/);
    // Another account sees nothing of it.
    const peek = as(other, `ls ${dir}`);
    expect(peek.status).not.toBe(0);
    expect(peek.stderr).toMatch(/Permission denied/);
    expect(execFileSync('findmnt', ['-no', 'OPTIONS', dir], { encoding: 'utf8' })).toMatch(/nosuid.*nodev.*noexec/);
  });

  it('the part says in its log when the manager mounted no tmpfs, and nothing when it did; it cleans partial transfers either way', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    expect(stagingAreaFilesystem(plain)).toBeNull();
    const said: string[] = [];
    let cleaned = 0;
    let cancelled = 0;
    // The broker's two acts the staging's start and stop call (the broker itself: fileBroker.test.ts).
    const broker = { cleanPartialsOnce: async () => void cleaned++, cancel: () => void cancelled++ } as unknown as FileBroker;
    const stop = await prepareRemoteFileStaging(broker, plain, (msg) => said.push(msg), 50);
    expect(said).toEqual(["file staging on the run folder's filesystem: the cage manager mounted no tmpfs for the part"]);
    const stopToo = await prepareRemoteFileStaging(broker, join(root, 'staging'), (msg) => said.push(msg), 50);
    expect(said).toHaveLength(1);
    // Not at once: a while after (the file helpers it needs would take CPU from the cages' first frames).
    expect(cleaned).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(cleaned).toBe(2);
    await stop();
    expect(cancelled).toBe(1);
    await stopToo();
    expect(stagingAreaFilesystem(join(root, 'staging'))).toBe('tmpfs'); // the part unmounts nothing
  });

  // Seen before the fix: the folder stayed root's 0700, the part's write failed with Permission denied.
  it('not mounted (a size mount refuses), the folder is handed to the part: its transfers stage on the run folder\'s filesystem', async () => {
    const dir = join(root, 'unmounted');
    await expect(mountStagingArea(dir, Number.NaN, part)).rejects.toThrow();
    expect(stagingAreaFilesystem(dir)).toBeNull();
    expect(statSync(dir)).toMatchObject({ uid: part.uid, gid: part.gid });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(as(part, `echo staged > ${dir}/a && cat ${dir}/a`).stdout.trim()).toBe('staged');
    expect(as(other, `ls ${dir}`).stderr).toMatch(/Permission denied/);
  });

  it('the part says plainly when it cannot write in its staging folder: every transfer will fail', async () => {
    const said: string[] = [];
    const broker = { cleanPartialsOnce: async () => undefined, cancel: () => undefined } as unknown as FileBroker;
    await prepareRemoteFileStaging(broker, join(root, 'never-made'), (msg) => said.push(msg));
    expect(said).toEqual(['file staging impossible: the part cannot write in its staging folder, every transfer will fail']);
  });
});
