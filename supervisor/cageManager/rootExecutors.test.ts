/**
 * The manager's executors for `loop.attach`, `state.chown`, `home.unmount` and `usb.unmount`, behind the real
 * socket, asked by a real process of the `cloison` account as a compromised part would. What the
 * policy implies is done (a key image attached, a level's folder given to its uid, its home
 * unmounted); what it does not is refused, journaled, and leaves the system as it was:
 *   - a node of a block device the policy does not name, placed in the keys' folder: the
 *     authorization sees a plain path there, no link; seen with an executor that attached the
 *     path as given: that device attached to a loop device, writable, for the part. Now refused,
 *     "not a regular file";
 *   - a link to that device, a path with `..`, another level's home: refused by the policy;
 *   - a key's unmount naming another device than the one mounted there, or a level's media folder
 *     instead of a key's: seen with an executor that unmounted the path as given: the key unmounted.
 *     Now refused, the key still mounted;
 *   - a chown through a link swapped in after the check (the executor called directly, as if the
 *     race were won): refused, the link's target untouched.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { isMountPoint } from '../cages/cageMounts';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { homeUnmountExecutor } from './homeUnmountExecutor';
import { loopAttachExecutor } from './loopAttachExecutor';
import { ManagedCages } from './managedCages';
import { stateChownExecutor } from './stateChownExecutor';
import { usbUnmountExecutor } from './usbUnmountExecutor';

const LOW_UID = 58740;
let root: string;
let state: string;
let keys: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
let foreign: { path: string; major: number; minor: number } | null = null;

/** Loop devices attached over `file` (or over a device with that major:minor). */
function loopsOver(file: string): string[] {
  return readdirSync('/sys/block')
    .filter((n) => /^loop\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trimEnd() === file;
      } catch {
        return false;
      }
    })
    .map((n) => `/dev/${n}`);
}

/** A block device the policy does not name: a loop device over a file outside the keys' folder (another level's, say). */
async function foreignDevice(): Promise<{ path: string; major: number; minor: number }> {
  const file = join(root, 'foreign.img');
  writeFileSync(file, Buffer.alloc(2 * 2 ** 20));
  const path = await attachLoopWritable(file);
  const [major, minor] = readFileSync(`/sys/block/${path.slice(5)}/dev`, 'utf8').trim().split(':').map(Number);
  return { path, major: major!, minor: minor! };
}

beforeAll(async () => {
  root = testRoot('cloison-rx-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  keys = join(root, 'keys');
  mkdirSync(join(state, 'cages', 'low'), { recursive: true });
  mkdirSync(join(state, 'cages', 'high'), { recursive: true });
  mkdirSync(keys);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(state, 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  const policy = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: LOW_UID + 1 }) }, `usb: { unknown: ask, loopDevices: { backingDir: ${keys} } }\n`);
  const folders = { stateDir: state, runDir: join(root, 'run') };
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => parsePolicy(policy, 'p.yaml'), ...folders, trainingKeysDir: join(state, 'training'), workstationUser: null },
    executors: { 'loop.attach': loopAttachExecutor(), 'state.chown': stateChownExecutor(), 'home.unmount': homeUnmountExecutor({ ...folders, cages: new ManagedCages() }), 'usb.unmount': usbUnmountExecutor(folders) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  for (const device of [...loopsOver(join(keys, 'key.img')), ...(foreign ? loopsOver(foreign.path) : []), ...loopsOver(join(root, 'foreign.img')), ...loopsOver(join(keys, 'disk.img'))]) await detachLoop(device);
  for (const point of [join(state, 'cages', 'low', 'home'), join(root, 'run', 'media', 'low', 'key')]) if (isMountPoint(point)) spawnSync('umount', ['-l', point]);
  for (const device of loopsOver(join(root, 'usbkey.img'))) await detachLoop(device);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

async function ask(request: unknown): Promise<{ reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> }> {
  const seen = refusals().length;
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 3, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: refusals().slice(seen) };
}

function expectRefused(outcome: Awaited<ReturnType<typeof ask>>, reason: RegExp): void {
  expect(outcome.reply.ok).toBe(false);
  expect(outcome.reply.error!.message).toMatch(reason);
  expect(outcome.journaled).toHaveLength(1);
  expect(outcome.journaled[0]).toMatchObject({ actor: 'cloison', peerUid: cloison.uid });
  expect(String(outcome.journaled[0]!.reason)).toMatch(reason);
}

describe('loop.attach', () => {
  it('attaches a key image of the policy\'s folder, writable', async () => {
    const image = join(keys, 'key.img');
    writeFileSync(image, Buffer.alloc(2 * 2 ** 20));
    const { reply, journaled } = await ask({ op: 'loop.attach', image });
    expect(reply.ok).toBe(true);
    const device = (reply.result as { device: string }).device;
    expect(loopsOver(image)).toEqual([device]);
    expect(readFileSync(`/sys/block/${device.slice(5)}/ro`, 'utf8').trim()).toBe('0');
    expect(journaled).toEqual([]);
    // Asked again: the same device, no second one.
    expect((await ask({ op: 'loop.attach', image })).reply.result).toEqual({ device });
    expect(loopsOver(image)).toEqual([device]);
  });

  it('refuses a node of a device the policy does not name, placed in the keys\' folder, journaled; that device is attached nowhere', async () => {
    const disk = (foreign = await foreignDevice());
    const node = join(keys, 'disk.img');
    spawnSync('mknod', [node, 'b', String(disk.major), String(disk.minor)]);
    expect(statSync(node).isBlockDevice()).toBe(true);
    const outcome = await ask({ op: 'loop.attach', image: node });
    console.log(`a node of ${disk.path} (${disk.major}:${disk.minor}) as a key image: ${JSON.stringify(outcome.reply)}; loop devices over it: ${JSON.stringify([...loopsOver(disk.path), ...loopsOver(node)])}`);
    expectRefused(outcome, /not a regular file/);
    expect([...loopsOver(disk.path), ...loopsOver(node)]).toEqual([]);
  });

  it('refuses a link to a device the policy does not name and a path with .., journaled', async () => {
    symlinkSync(foreign!.path, join(keys, 'link.img'));
    expectRefused(await ask({ op: 'loop.attach', image: join(keys, 'link.img') }), /symbolic link/);
    expectRefused(await ask({ op: 'loop.attach', image: `${keys}/../state/journal.jsonl` }), /\.\. segment/);
    expect(loopsOver(foreign!.path)).toEqual([]);
  });
});

describe('state.chown', () => {
  it('gives a folder of the level\'s state to the level\'s uid, and back to root', async () => {
    const dir = join(state, 'cages', 'low', 'sockets');
    mkdirSync(dir);
    expect((await ask({ op: 'state.chown', level: 'low', path: dir, uid: LOW_UID })).reply).toEqual({ ok: true, result: { uid: LOW_UID }, id: 3 });
    expect(statSync(dir)).toMatchObject({ uid: LOW_UID, gid: LOW_UID });
    expect((await ask({ op: 'state.chown', level: 'low', path: dir, uid: 0 })).reply.ok).toBe(true);
    expect(statSync(dir).uid).toBe(0);
  });

  it('refuses another uid, another level\'s folder, journaled', async () => {
    const dir = join(state, 'cages', 'low', 'sockets');
    expectRefused(await ask({ op: 'state.chown', level: 'low', path: dir, uid: LOW_UID + 1 }), /is neither level low's/);
    expectRefused(await ask({ op: 'state.chown', level: 'low', path: join(state, 'cages', 'high'), uid: LOW_UID }), /outside/);
    expect(statSync(join(state, 'cages', 'high')).uid).toBe(0);
  });

  it('refuses a link swapped in after the check (the race won): the link\'s target keeps its owner', async () => {
    // In the cage's own home a cage can make links: one where a folder was when the path was checked.
    const home = join(state, 'cages', 'low', 'home');
    mkdirSync(home);
    const target = join(root, 'elsewhere');
    mkdirSync(target);
    writeFileSync(join(target, 'secret'), 'root only');
    symlinkSync(target, join(home, 'docs'));
    const chown = stateChownExecutor();
    await expect(chown({ op: 'state.chown', level: 'low', path: join(home, 'docs', 'secret'), uid: LOW_UID })).rejects.toThrow(/leads elsewhere/);
    await expect(chown({ op: 'state.chown', level: 'low', path: join(home, 'docs'), uid: LOW_UID })).rejects.toThrow(/symbolic link/);
    expect(statSync(join(target, 'secret')).uid).toBe(0);
    expect(statSync(target).uid).toBe(0);
    rmSync(home, { recursive: true });
  });
});

describe('home.unmount', () => {
  it('unmounts the level\'s home; another level\'s or another place is refused, journaled', async () => {
    const home = join(state, 'cages', 'low', 'home');
    mkdirSync(home, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', home]).status).toBe(0);
    expectRefused(await ask({ op: 'home.unmount', level: 'high', target: home }), /not the level's/);
    expectRefused(await ask({ op: 'home.unmount', level: 'low', target: '/root' }), /outside/);
    expect(isMountPoint(home)).toBe(true);
    const { reply } = await ask({ op: 'home.unmount', level: 'low', target: home });
    expect(reply).toMatchObject({ ok: true, result: { unmounted: true } });
    expect(isMountPoint(home)).toBe(false);
  });
});


describe('usb.unmount', () => {
  it('unmounts a key from the device mounted there; another device named, or a level\'s folder, is refused, journaled, the key still mounted', async () => {
    const image = join(root, 'usbkey.img');
    writeFileSync(image, Buffer.alloc(4 * 2 ** 20));
    const device = await attachLoopWritable(image);
    expect(spawnSync('mkfs.ext4', ['-q', '-F', device]).status).toBe(0);
    const key = join(root, 'run', 'media', 'low', 'key');
    mkdirSync(key, { recursive: true });
    expect(spawnSync('mount', ['-o', 'nosuid,nodev,noexec', device, key]).status).toBe(0);
    const other = loopsOver(join(keys, 'key.img'))[0]!;
    const naming = await ask({ op: 'usb.unmount', device: other, target: key });
    console.log(`unmounting ${key} (from ${device}) by naming ${other}: ${JSON.stringify(naming.reply)}; still mounted: ${isMountPoint(key)}`);
    expectRefused(naming, /is not mounted from/);
    expectRefused(await ask({ op: 'usb.unmount', device, target: join(root, 'run', 'media', 'low') }), /not a key's folder/);
    expectRefused(await ask({ op: 'usb.unmount', device, target: `${key}/../../high/key` }), /\.\. segment/);
    expect(isMountPoint(key)).toBe(true);
    const { reply, journaled } = await ask({ op: 'usb.unmount', device, target: key });
    expect(reply).toMatchObject({ ok: true, result: { unmounted: key } });
    expect(journaled).toEqual([]);
    expect(isMountPoint(key)).toBe(false);
  });
});
