/**
 * The manager's executors for `usb.probe`, `usb.mount` and `usb.prepare`, behind the real socket,
 * asked by a real process of the `cloison` account as a compromised part would, on real loop
 * devices standing for keys (testing/loopKeys.ts; the policy names their folder). What the policy
 * implies is done; what it does not is refused, journaled, and the key left as it was. Seen with
 * executors acting on the request as given (usb/mediaMounts.ts's mount, keyPreparation.ts and
 * keyMarks.ts called with the request's fields), each request passing the authorization:
 *   - a key mounted read-write at high, where the policy's choices say read-only: mounted rw;
 *   - the same key then mounted at a folder name of the part's choosing in low's folder: mounted
 *     there too, read-write, while still mounted at high (one key in two levels at once);
 *   - a key a rule binds to low marked for high: marked for high, formatted for high's uid;
 *   - a key marked for high unmarked by a request naming low: erased whole (the executor without
 *     its level check).
 *   - a key mounted read-only at high, probed: answered, and the device left read-write (the
 *     probe's flag lifted after it) under its read-only mount.
 * Now each is refused before anything is written or mounted; and the executors called directly,
 * as if a device had passed the check and then stopped being a key, refuse it too. Devices the
 * policy does not name (a loop device over a file elsewhere, standing for the system disk, and the
 * system disk's own node) and targets outside the media folder or in another level's are refused
 * by the authorization before any executor runs (with either executor).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { mediaRootOf } from '../cages/bwrapDriver';
import { attachLoopWritable, detachLoop } from '../cages/loopDevice';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { LoopKeys, type PluggedKey } from '../testing/loopKeys';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { loadOrCreateStationKeys, MARK_BYTES, readMark } from '../usb/keyMarks';
import { MediaMounts } from '../usb/mediaMounts';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { usbMountExecutor } from './usbMountExecutor';
import { usbPrepareExecutor } from './usbPrepareExecutor';
import { usbProbeExecutor } from './usbProbeExecutor';

const LOW_UID = 58594;
const HIGH_UID = 58595;
const MiB = 2 ** 20;
let root: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
let keys: LoopKeys;
let media: MediaMounts;
let foreign: string | null = null;
let deps: Parameters<typeof usbMountExecutor>[0];
const stationKeyFile = () => join(root, 'state', 'usb-mark.key');

beforeAll(async () => {
  root = testRoot('cloison-ux-');
  chmodSync(root, 0o711);
  mkdirSync(join(root, 'state'));
  keys = new LoopKeys(root);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'state', 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  const runDir = join(root, 'run');
  media = new MediaMounts(mediaRootOf(runDir));
  await media.prepare(['low', 'high']);
  // Default choices: low read-write, high read-only. A rule binds the key named bound.img to low.
  const policyText = twoLevelPolicy(
    { low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) },
    `usb: { unknown: ask, trustDeviceIdentity: true, rules: [{ name: bound, match: { serial: bound.img }, level: low, mode: read-write }], loopDevices: { backingDir: ${keys.backingDir} } }\n`,
  );
  const policy = () => parsePolicy(policyText, 'p.yaml');
  const station = loadOrCreateStationKeys(stationKeyFile());
  deps = { policy, runDir, trainingKeysDir: join(root, 'training'), stationKeys: () => station };
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, stateDir: join(root, 'state'), runDir, trainingKeysDir: deps.trainingKeysDir, workstationUser: null },
    executors: { 'usb.probe': usbProbeExecutor(deps), 'usb.mount': usbMountExecutor(deps), 'usb.prepare': usbPrepareExecutor(deps) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  journal?.close();
  await media?.unmountAllUnder();
  for (const point of readdirSync(root).filter((n) => n.startsWith('elsewhere'))) spawnSync('umount', ['-l', join(root, point)]);
  await keys?.cleanup();
  if (foreign) await detachLoop(foreign);
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

type Outcome = { reply: { ok: boolean; result?: unknown; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> };

async function ask(request: unknown): Promise<Outcome> {
  const seen = refusals().length;
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 5, request } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: refusals().slice(seen) };
}

function expectRefused(outcome: Outcome, reason: RegExp): void {
  expect(outcome.reply.ok).toBe(false);
  expect(outcome.reply.error!.message).toMatch(reason);
  expect(outcome.journaled).toHaveLength(1);
  expect(outcome.journaled[0]).toMatchObject({ actor: 'cloison', peerUid: cloison.uid });
  expect(String(outcome.journaled[0]!.reason)).toMatch(reason);
}

/** Where the device is mounted, with its options, from mountinfo (directly or through a loop device over it). */
function mountsOf(devnode: string): Array<{ point: string; options: string[] }> {
  const loops = readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n)).filter((n) => {
    try {
      return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trimEnd() === devnode;
    } catch {
      return false;
    }
  }).map((n) => `/dev/${n}`);
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => {
    const source = f[f.indexOf('-') + 2];
    return source === devnode || loops.includes(source ?? '');
  }).map((f) => ({ point: f[4]!, options: f[5]!.split(',') }));
}

const readOnlyFlag = (devnode: string) => readFileSync(`/sys/block/${devnode.slice(5)}/ro`, 'utf8').trim();
const levelFolder = (level: string) => join(media.root, level);

function bytesAt(devnode: string, offset: number, length: number): Buffer {
  const fd = openSync(devnode, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

describe('usb.probe', () => {
  it('answers the filesystem and the mark of a key the policy names, nothing else', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'probe.img', label: 'PROBED' });
    const { reply, journaled } = await ask({ op: 'usb.probe', device: key.devnode });
    expect(reply.ok).toBe(true);
    expect(reply.result).toEqual({ filesystem: { type: 'ext4', label: 'PROBED', uuid: expect.any(String) }, mark: { status: 'none' } });
    expect(journaled).toEqual([]);
    expect(readOnlyFlag(key.devnode)).toBe('0'); // the probe's read-only flag lifted
    await key.pull();
  });

  it('refuses a device the policy does not name (a loop device over a file elsewhere, the system disk), journaled, left untouched', async () => {
    const file = join(root, 'system-disk.img');
    writeFileSync(file, Buffer.alloc(4 * MiB));
    execFileSync('mkfs.ext4', ['-q', '-L', 'SYSTEM', file]);
    foreign = await attachLoopWritable(file);
    expectRefused(await ask({ op: 'usb.probe', device: foreign }), /not a key the policy names/);
    expect(readOnlyFlag(foreign)).toBe('0');
    const disk = readdirSync('/sys/block').find((n) => /^(vd|sd|nvme)/.test(n));
    if (disk) expectRefused(await ask({ op: 'usb.probe', device: `/dev/${disk}` }), /not a key the policy names/);
    else console.log('no system disk node to name: the system-disk case is the loop device above');
  });
});

describe('usb.mount', () => {
  let key: PluggedKey;
  beforeAll(async () => {
    key = await keys.plug({ format: 'ext4', fileName: 'mount.img', label: 'KEYLOW' });
  });

  it('refuses read-write where the policy says read-only, a folder name of the part\'s choosing, another level\'s folder, a place outside the media folder; journaled, nothing mounted', async () => {
    const attempts: Array<[unknown, RegExp]> = [
      [{ op: 'usb.mount', device: key.devnode, level: 'high', mode: 'read-write', target: join(levelFolder('high'), 'KEYLOW') }, /does not allow attaching this device to "high" read-write/],
      [{ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'evil') }, /is not the key's folder/],
      [{ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('high'), 'KEYLOW') }, /outside/],
      [{ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: '/mnt/KEYLOW' }, /outside/],
      [{ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: `${levelFolder('low')}/../high/KEYLOW` }, /\.\. segment/],
    ];
    for (const [request, reason] of attempts) {
      const outcome = await ask(request);
      console.log(`${JSON.stringify(request)}: ${JSON.stringify(outcome.reply)}; mounted at: ${JSON.stringify(mountsOf(key.devnode))}`);
      expectRefused(outcome, reason);
    }
    expect(mountsOf(key.devnode)).toEqual([]);
    expect(readdirSync(levelFolder('low'))).toEqual([]);
    expect(readdirSync(levelFolder('high'))).toEqual([]);
  });

  it('refuses a device the policy does not name', async () => {
    expectRefused(await ask({ op: 'usb.mount', device: foreign!, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'SYSTEM') }), /not a key the policy names/);
    expect(mountsOf(foreign!)).toEqual([]);
  });

  it('mounts at high read-only (the device set read-only) and at low read-write, nosuid,nodev,noexec; a key mounted already is refused', async () => {
    const high = await ask({ op: 'usb.mount', device: key.devnode, level: 'high', mode: 'read-only', target: join(levelFolder('high'), 'KEYLOW') });
    expect(high.reply).toMatchObject({ ok: true, result: { mounted: join(levelFolder('high'), 'KEYLOW') } });
    expect(readOnlyFlag(key.devnode)).toBe('1');
    const [mounted] = mountsOf(key.devnode);
    expect(mounted!.point).toBe(join(levelFolder('high'), 'KEYLOW'));
    expect(mounted!.options).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
    const twice = await ask({ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'KEYLOW') });
    console.log(`a key mounted at high asked at low: ${JSON.stringify(twice.reply)}; mounted at: ${JSON.stringify(mountsOf(key.devnode))}`);
    expectRefused(twice, /in use already/);
    expect(mountsOf(key.devnode)).toHaveLength(1);
    // A probe would set it read-only, then read-write: the key mounted read-only made writable again.
    const probe = await ask({ op: 'usb.probe', device: key.devnode });
    console.log(`probing the key mounted read-only at high: ${JSON.stringify(probe.reply)}; its read-only flag: ${readOnlyFlag(key.devnode)}`);
    expectRefused(probe, /in use/);
    expect(readOnlyFlag(key.devnode)).toBe('1');
    await media.eject(join(levelFolder('high'), 'KEYLOW'), key.devnode, 'read-only');
    const low = await ask({ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'KEYLOW') });
    expect(low.reply).toMatchObject({ ok: true });
    expect(readOnlyFlag(key.devnode)).toBe('0');
    expect(mountsOf(key.devnode)[0]!.options).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
    await media.eject(join(levelFolder('low'), 'KEYLOW'), key.devnode, 'read-write');
  });

  it('refuses a key mounted elsewhere than the media folder', async () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    execFileSync('mount', ['-o', 'ro', key.devnode, elsewhere]);
    expectRefused(await ask({ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'KEYLOW') }), /in use already/);
    expect(mountsOf(key.devnode).map((m) => m.point)).toEqual([elsewhere]);
    execFileSync('umount', [elsewhere]);
  });
});

describe('usb.prepare', () => {
  it('marks a key for a level it may go to, erasing its ends; re-marking a marked key erases all of it (#27 item 10)', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'mark.img', label: 'TOMARK', sizeMiB: 20 });
    const { reply } = await ask({ op: 'usb.prepare', device: key.devnode, level: 'high', action: 'mark' });
    expect(reply).toMatchObject({ ok: true, result: { action: 'mark', erased: 'ends' } });
    const station = loadOrCreateStationKeys(stationKeyFile());
    expect(readMark(key.devnode, 20 * MiB, station, ['low', 'high'])).toMatchObject({ status: 'valid', level: 'high' });
    // What high wrote on it, in its data region, past the filesystem's start.
    const fd = openSync(key.devnode, 'r+');
    writeSync(fd, Buffer.from('HIGH SECRET'.repeat(100)), 0, 1100, 12 * MiB);
    closeSync(fd);
    expect((await ask({ op: 'usb.prepare', device: key.devnode, level: 'high', action: 'mark' })).reply).toMatchObject({ ok: true, result: { erased: 'whole' } });
    expect(bytesAt(key.devnode, 12 * MiB, 1100).includes('HIGH SECRET')).toBe(false);
    const probe = await ask({ op: 'usb.probe', device: key.devnode });
    expect(probe.reply.result).toMatchObject({ filesystem: { type: 'ext4', label: 'HIGH' }, mark: { status: 'valid', level: 'high' } });
  });

  it('refuses marking a key a rule binds to low for high, unmarking high\'s key by naming low, preparing a mounted key; journaled, the key unchanged', async () => {
    const bound = await keys.plug({ format: 'ext4', fileName: 'bound.img', label: 'BOUND', sizeMiB: 20 });
    const before = bytesAt(bound.devnode, 0, MARK_BYTES);
    const marking = await ask({ op: 'usb.prepare', device: bound.devnode, level: 'high', action: 'mark' });
    console.log(`a key bound to low marked for high: ${JSON.stringify(marking.reply)}`);
    expectRefused(marking, /does not let device .* go to level "high"/);
    expect(bytesAt(bound.devnode, 0, MARK_BYTES).equals(before)).toBe(true);

    const { devnode: device } = await keys.plug({ format: 'ext4', fileName: 'high.img', sizeMiB: 20 });
    expect((await ask({ op: 'usb.prepare', device, level: 'high', action: 'mark' })).reply.ok).toBe(true);
    const marked = bytesAt(device, 0, MARK_BYTES);
    const unmarking = await ask({ op: 'usb.prepare', device, level: 'low', action: 'unmark' });
    console.log(`high's key unmarked by naming low: ${JSON.stringify(unmarking.reply)}`);
    expectRefused(unmarking, /is not level low's to unmark/);
    expect(bytesAt(device, 0, MARK_BYTES).equals(marked)).toBe(true);

    const mounted = await ask({ op: 'usb.mount', device, level: 'high', mode: 'read-write', target: join(levelFolder('high'), 'HIGH') });
    expect(mounted.reply).toMatchObject({ ok: true });
    expectRefused(await ask({ op: 'usb.prepare', device, level: 'high', action: 'unmark' }), /in use/);
    await media.eject(join(levelFolder('high'), 'HIGH'), device, 'read-write');
    expect(bytesAt(device, 0, MARK_BYTES).equals(marked)).toBe(true);

    expect((await ask({ op: 'usb.prepare', device, level: 'high', action: 'unmark' })).reply).toMatchObject({ ok: true, result: { action: 'unmark', erased: 'whole' } });
    expect(bytesAt(device, 0, MARK_BYTES).equals(Buffer.alloc(MARK_BYTES))).toBe(true);
  });

  it('refuses a device the policy does not name', async () => {
    expectRefused(await ask({ op: 'usb.prepare', device: foreign!, level: 'low', action: 'mark' }), /not a key the policy names/);
    expect(bytesAt(foreign!, 1024 + 0x78, 6).toString()).toBe('SYSTEM'); // its ext4 label, still there
  });
});

describe('the race won: a device checked as a key, then no longer one when the executor acts', () => {
  it('refuses probing, mounting, marking a loop device now over a file outside the keys\' folder (the executors called directly, as if the check had passed): the device untouched', async () => {
    const device = foreign!;
    const before = bytesAt(device, 0, 2048);
    await expect(usbProbeExecutor(deps)({ op: 'usb.probe', device })).rejects.toThrow(/not a key the policy names/);
    await expect(usbMountExecutor(deps)({ op: 'usb.mount', device, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'SYSTEM') })).rejects.toThrow(/not a key the policy names/);
    await expect(usbPrepareExecutor(deps)({ op: 'usb.prepare', device, level: 'low', action: 'mark' })).rejects.toThrow(/not a key the policy names/);
    await expect(usbPrepareExecutor(deps)({ op: 'usb.prepare', device, level: 'low', action: 'unmark' })).rejects.toThrow(/not a key the policy names/);
    expect(bytesAt(device, 0, 2048).equals(before)).toBe(true);
    expect(readOnlyFlag(device)).toBe('0');
    expect(mountsOf(device)).toEqual([]);
  });

  it('refuses a second request for a key while one is at work on it', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'twice.img', label: 'TWICE', sizeMiB: 20 });
    const prepare = usbPrepareExecutor(deps);
    const first = prepare({ op: 'usb.prepare', device: key.devnode, level: 'low', action: 'mark' });
    await expect(usbMountExecutor(deps)({ op: 'usb.mount', device: key.devnode, level: 'low', mode: 'read-write', target: join(levelFolder('low'), 'TWICE') })).rejects.toThrow(/busy with another request/);
    await expect(first).resolves.toMatchObject({ action: 'mark' });
    expect(mountsOf(key.devnode)).toEqual([]);
  });
});
