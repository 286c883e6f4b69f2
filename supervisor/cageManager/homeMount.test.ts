/**
 * `home.mount` and `home.unmount` behind a real CageManagerServer, asked by a real process of the
 * `cloison` account: a level's own image and home are reserved, made and mounted (64 MiB homes),
 * and unmounted with the loop device under the image found by its device and inode and detached.
 * What the policy does not imply is refused, journaled, nothing mounted: another level's image, a
 * path through a link, a mount point outside the level's folder. And the race won (the executor
 * called directly, as if a link had replaced the image after the check): the link at the image's
 * name, leading to another level's image, is refused. Seen with the executor as the supervisor's
 * start mounted a home (`mountHome`, losetup and the attached device's lookup by name): the other
 * level's image mounted as this level's home, its files there, its root given to this level's uid.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { isMountPoint } from '../cages/cageMounts';
import { detachLoop } from '../cages/loopDevice';
import { loopDeviceOverDescriptor } from '../cages/loopOverDescriptor';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { homeMountExecutor } from './homeMountExecutor';
import { homeUnmountExecutor } from './homeUnmountExecutor';
import { ManagedCages } from './managedCages';

const LOW_UID = 58752;
const HIGH_UID = 58753;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 16MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) });

let root: string;
let folders: { stateDir: string; runDir: string };
let cloison: PamTestUser;
let journal: FileAuditJournal;
let socketPath: string;
let server: CageManagerServer;
const cages = new ManagedCages();
const policy = () => parsePolicy(POLICY, 'p.yaml');
const paths = (level: string) => bwrapCagePaths(folders.stateDir, folders.runDir, level);

beforeAll(async () => {
  root = testRoot('cloison-hm-');
  chmodSync(root, 0o711);
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'home.mount': homeMountExecutor({ policy, ...folders, cages }), 'home.unmount': homeUnmountExecutor({ ...folders, cages }) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  for (const level of ['low', 'high']) {
    const p = paths(level);
    if (isMountPoint(p.home)) spawnSync('umount', ['-l', p.home]);
    const device = existsSync(p.homeImage) ? loopOver(p.homeImage) : null;
    if (device) await detachLoop(device);
  }
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

async function ask(request: unknown): Promise<{ reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> }> {
  const seen = refusals().length;
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 7, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: refusals().slice(seen) };
}

function expectRefused(outcome: Awaited<ReturnType<typeof ask>>, reason: RegExp): void {
  expect(outcome.reply.ok).toBe(false);
  expect(outcome.reply.error!.message).toMatch(reason);
  expect(outcome.journaled).toHaveLength(1);
  expect(outcome.journaled[0]).toMatchObject({ actor: 'cloison', peerUid: cloison.uid });
}

/** The loop device over `image`, by device and inode (a link at its name is not followed). */
function loopOver(image: string): string | null {
  const fd = openSync(image, 'r');
  try {
    return loopDeviceOverDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

describe('home.mount and home.unmount', () => {
  it('mounts a level\'s own home image (made at its size, its root the level\'s), and unmounts it, its loop device detached', async () => {
    const high = paths('high');
    const { reply, journaled } = await ask({ op: 'home.mount', level: 'high', image: high.homeImage, target: high.home });
    expect(reply).toMatchObject({ ok: true, result: { mounted: high.home } });
    expect(journaled).toEqual([]);
    expect(isMountPoint(high.home)).toBe(true);
    expect(statSync(high.homeImage).size).toBe(64 * 2 ** 20);
    expect(statSync(high.home)).toMatchObject({ uid: HIGH_UID, gid: HIGH_UID });
    const device = loopOver(high.homeImage)!;
    expect(statSync(device).rdev).toBe(statSync(high.home).dev);
    expect(execFileSync('findmnt', ['-n', '-o', 'OPTIONS', high.home], { encoding: 'utf8' })).toMatch(/nosuid,nodev,noexec/);
    // Not under a cage starting or running (seen before: the part unmounted a running cage's home).
    expect(cages.reserve('high')).toBe(true);
    try {
      expect((await ask({ op: 'home.unmount', level: 'high', target: high.home })).reply).toMatchObject({ ok: false, error: { code: 'WRONG_STATE' } });
      expect(isMountPoint(high.home)).toBe(true);
    } finally {
      cages.release('high');
    }
    expect((await ask({ op: 'home.unmount', level: 'high', target: high.home })).reply).toMatchObject({ ok: true, result: { unmounted: true } });
    expect(isMountPoint(high.home)).toBe(false);
    expect(loopOver(high.homeImage)).toBeNull();
  }, 60_000);

  it('refuses another level\'s image, a path through a link, a mount point outside the level\'s folder, journaled; nothing mounted', async () => {
    const low = paths('low');
    const high = paths('high');
    mkdirSync(join(folders.stateDir, 'cages', 'low'), { recursive: true, mode: 0o700 });
    symlinkSync(join(folders.stateDir, 'cages', 'high'), join(folders.stateDir, 'cages', 'alias'));
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: high.homeImage, target: low.home }), /image .* is not the level's/);
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: join(folders.stateDir, 'cages', 'alias', 'home.img'), target: low.home }), /symbolic link/);
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: low.homeImage, target: '/root' }), /outside/);
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: low.homeImage, target: join(folders.runDir, 'media', 'low') }), /outside/);
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: `${low.home}/../../high/home.img`, target: low.home }), /\.\. segment/);
    expectRefused(await ask({ op: 'home.mount', level: 'secret', image: low.homeImage, target: low.home }), /no level "secret"/);
    // A link at the image's very name is seen by the authorization too.
    symlinkSync(high.homeImage, low.homeImage);
    expectRefused(await ask({ op: 'home.mount', level: 'low', image: low.homeImage, target: low.home }), /symbolic link/);
    unlinkSync(low.homeImage);
    unlinkSync(join(folders.stateDir, 'cages', 'alias'));
    for (const level of ['low', 'high']) expect(isMountPoint(paths(level).home)).toBe(false);
    expect(loopOver(high.homeImage)).toBeNull();
  }, 60_000);

  it('refuses a link at the image\'s name swapped in after the check (the race won): the other level\'s image is attached nowhere', async () => {
    const low = paths('low');
    const high = paths('high');
    symlinkSync(high.homeImage, low.homeImage);
    const mount = homeMountExecutor({ policy, ...folders, cages });
    await expect(mount({ op: 'home.mount', level: 'low', image: low.homeImage, target: low.home })).rejects.toThrow(/image: path .* is a symbolic link/);
    expect(isMountPoint(low.home)).toBe(false);
    expect(loopOver(high.homeImage)).toBeNull();
    unlinkSync(low.homeImage);
  });

  it('refuses a level whose cage is starting or running: its home is not remounted under it', async () => {
    const low = paths('low');
    expect(cages.reserve('low')).toBe(true);
    try {
      const { reply } = await ask({ op: 'home.mount', level: 'low', image: low.homeImage, target: low.home });
      expect(reply).toMatchObject({ ok: false, error: { code: 'WRONG_STATE', message: 'cage low is starting: its home is not remounted under it' } });
    } finally {
      cages.release('low');
    }
    expect(existsSync(low.homeImage)).toBe(false);
  });
});
