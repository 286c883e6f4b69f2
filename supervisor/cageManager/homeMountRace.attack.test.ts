/**
 * Attack (review of the cage manager's home.mount executor, issue #29): two `home.mount` requests
 * for the same level sent at once by the `cloison` account. Both pass the executor's "the level's
 * cage is stopped" check before either has mounted anything (nothing reserves the level while a
 * home is being mounted), so both run cageMounts.ts's mountHome on the same image at the same time:
 * two loop devices over one ext4 image, or a second mount stacked over the first at the home.
 * One image attached twice read-write is two writers of one filesystem, each unaware of the other.
 *
 * Expected of a safe manager: one of the two requests refused (or waiting for the first), at the
 * end exactly one loop device over the image and exactly one mount at the level's home.
 *
 * Seen before the reservation: with no image yet (a level's first start), both requests make `home.img.new`
 * at once (cageMounts.ts prepareImage: one name for both), the second truncating the first's while
 * its mkfs runs; the image renamed into place then has no valid superblock, and every later
 * home.mount of the level fails ("wrong fs type, bad superblock"): the level cannot start until an
 * administrator removes the image. Or one answered "mounted" while nothing stayed mounted (the
 * other's refusal path unmounted it) and a loop device was left over the image.
 *
 * Now: the level is reserved in the manager's map (managedCages.ts) for the whole mount, the second
 * request refused WRONG_STATE; a `cage.start` during the mount is refused the same way.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { detachLoop } from '../cages/loopDevice';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer } from './cageManagerServer';
import { cageStartExecutor } from './cageStartExecutor';
import { homeMountExecutor } from './homeMountExecutor';
import { ManagedCages } from './managedCages';

const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 16MiB';
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58770, limits: SMALL }), high: bwrapCage({ uid: 58771, limits: SMALL }) });

let root: string;
let folders: { stateDir: string; runDir: string };
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
const policy = () => parsePolicy(POLICY, 'p.yaml');

/** Loop devices whose backing file is `image` (device and inode, as sysfs gives them). */
function loopsOver(image: string): string[] {
  const { dev, ino } = statSync(image);
  const major = Math.floor(dev / 256) & 0xfff;
  return readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n)).filter((n) => {
    try {
      const [d, i] = [readFileSync(`/sys/block/${n}/loop/backing_dev`, 'utf8'), readFileSync(`/sys/block/${n}/loop/backing_inode`, 'utf8')];
      void major;
      return Number(i.trim()) === ino && d.trim() !== '';
    } catch {
      try {
        return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trim() === image;
      } catch {
        return false;
      }
    }
  }).map((n) => `/dev/${n}`);
}

/** Mounts whose mount point is `path` (stacked mounts count one each). */
function mountsAt(path: string): number {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === path).length;
}

beforeAll(async () => {
  root = testRoot('cloison-rv-hm-');
  chmodSync(root, 0o711);
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'home.mount': homeMountExecutor({ policy, ...folders, cages: new ManagedCages() }) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  const p = bwrapCagePaths(folders.stateDir, folders.runDir, 'low');
  for (let i = 0; i < 8 && mountsAt(p.home) > 0; i++) spawnSync('umount', ['-l', p.home]);
  if (existsSync(p.homeImage)) for (const d of loopsOver(p.homeImage)) await detachLoop(d);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('home.mount asked twice at once for one level', () => {
  it('mounts the level\'s image once: one loop device over it, one mount at its home', async () => {
    const p = bwrapCagePaths(folders.stateDir, folders.runDir, 'low');
    const request = { op: 'home.mount', level: 'low', image: p.homeImage, target: p.home };
    const outcome = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 1, request } }, { json: { id: 2, request } }]);
    const replies = outcome.replies as Array<{ id: number; ok: boolean; error?: { message: string } }>;
    const loops = loopsOver(p.homeImage);
    const mounts = mountsAt(p.home);
    console.log(`two home.mount at once: replies ${JSON.stringify(replies)}; loop devices over the image: ${loops.join(', ') || 'none'}; mounts at the home: ${mounts}`);
    // The image the race left: a single request afterwards mounts it (a broken image would end the level's home).
    for (let i = 0; i < 8 && mountsAt(p.home) > 0; i++) spawnSync('umount', [p.home]);
    if (existsSync(p.homeImage)) for (const d of loopsOver(p.homeImage)) await detachLoop(d);
    const after = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 3, request } }]);
    console.log(`home.mount alone after that race: ${JSON.stringify(after.replies[0]).slice(0, 300)}`);
    expect(replies).toHaveLength(2);
    expect(replies.some((r) => r.ok)).toBe(true);
    expect(loops).toHaveLength(1);
    expect(mounts).toBe(1);
    expect(after.replies[0]).toMatchObject({ ok: true });
  }, 60_000);

  it('with the image made already: at every try one loop device over it, one mount at its home, and its files kept', async () => {
    const p = bwrapCagePaths(folders.stateDir, folders.runDir, 'low');
    const request = { op: 'home.mount', level: 'low', image: p.homeImage, target: p.home };
    const clear = async () => {
      for (let i = 0; i < 8 && mountsAt(p.home) > 0; i++) spawnSync('umount', [p.home]);
      for (const d of loopsOver(p.homeImage)) await detachLoop(d);
    };
    await clear();
    const once = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 9, request } }]);
    expect(once.replies[0]).toMatchObject({ ok: true });
    writeFileSync(join(p.home, 'marker'), 'the level\'s own file');
    const seen: Array<{ line: string; answeredMounted: boolean; loops: number; mounts: number }> = [];
    for (let round = 0; round < 4; round++) {
      await clear();
      const outcome = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 1, request } }, { json: { id: 2, request } }]);
      const replies = outcome.replies as Array<{ id: number; ok: boolean; error?: { message: string } }>;
      const loops = loopsOver(p.homeImage).length;
      const mounts = mountsAt(p.home);
      const line = `round ${round}: ${replies.map((r) => (r.ok ? 'ok' : `refused: ${r.error!.message.split('\n')[0]!.slice(0, 120)}`)).join(' | ')}; ${loops} loop devices over the image, ${mounts} mounts at the home`;
      seen.push({ line, answeredMounted: replies.some((r) => r.ok), loops, mounts });
    }
    console.log(`two home.mount at once over an existing image:\n${seen.map((s) => s.line).join('\n')}`);
    await clear();
    const again = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 9, request } }]);
    expect(again.replies[0]).toMatchObject({ ok: true });
    expect(readFileSync(join(p.home, 'marker'), 'utf8')).toBe('the level\'s own file');
    // A "mounted" answer is true after it: the level's image mounted once at its home, through one loop device.
    for (const s of seen.filter((s) => s.answeredMounted)) expect({ round: s.line, loops: s.loops, mounts: s.mounts }).toEqual({ round: s.line, loops: 1, mounts: 1 });
    // And at least one of the two requests mounted it each time (the other refused as busy, or waiting its turn).
    for (const s of seen) expect(s.answeredMounted, s.line).toBe(true);
  }, 120_000);

  it('refuses a cage.start while the level\'s home is being mounted (WRONG_STATE), and mounts while no start holds the level', async () => {
    const p = bwrapCagePaths(folders.stateDir, folders.runDir, 'low');
    for (let i = 0; i < 8 && mountsAt(p.home) > 0; i++) spawnSync('umount', [p.home]);
    for (const d of loopsOver(p.homeImage)) await detachLoop(d);
    const cages = new ManagedCages();
    const mount = homeMountExecutor({ policy, ...folders, cages });
    const start = cageStartExecutor({ policy, ...folders, cages });
    const mounting = mount({ op: 'home.mount', level: 'low', image: p.homeImage, target: p.home });
    expect(cages.state('low')).toBe('mounting');
    await expect(start({ op: 'cage.start', level: 'low', uid: 58770 })).rejects.toMatchObject({ code: 'WRONG_STATE', message: "cage low's home is being mounted: start it once the mount has answered" });
    await expect(mounting).resolves.toEqual({ mounted: p.home });
    expect(cages.state('low')).toBe('stopped');
    expect({ loops: loopsOver(p.homeImage).length, mounts: mountsAt(p.home) }).toEqual({ loops: 1, mounts: 1 });
    spawnSync('umount', [p.home]);
    for (const d of loopsOver(p.homeImage)) await detachLoop(d);
  }, 60_000);
});
