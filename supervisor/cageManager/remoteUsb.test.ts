/**
 * USB keys in the `cloison` part (issue #29): the wiring the supervisor makes with `manager` set
 * (usb/usbWiring.ts given remoteUsbKeys.ts's acts) in a real process of the `cloison` account (the manager's
 * child, cloisonPart.ts), against a real cage manager server (root) with the real usb executors,
 * on real loop devices standing for keys (testing/loopKeys.ts; the policy names their folder). The
 * media root is made shared by the test as the manager must before it starts a cage.
 *
 * What a user sees: a key plugged is found by the part's watcher (sysfs), probed by the manager,
 * waits for the user's choice; attached read-only at high it is in high's media folder only,
 * mounted ro,nosuid,nodev,noexec, and a write there fails (even root's); ejected, it is unmounted
 * and its folder gone; attached read-write at low and pulled out, the manager unmounts it. A key
 * marked for high by this workstation goes to high on arrival; once ejected, the user's choice of
 * low is refused by the part's broker, and the same mount asked of the manager directly (a
 * compromised part) is refused there and journaled; the part cannot open a key's device itself. A
 * blank key marked for high by the user in the part is signed with the manager's secret and
 * attached at high; unmarked, it is erased. A training key unplugged by the part has its loop
 * device detached by the manager (`loop.detach`); asked by a compromised part for a cage's home
 * loop device, a training key still plugged or a key the manager did not attach, it is refused
 * and journaled (seen with the device detached as named: all three detached).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceView } from '../../shared/rpc';
import { FileAuditJournal } from '../audit/auditJournal';
import { mediaRootOf } from '../cages/bwrapDriver';
import { attachLoopWritable } from '../cages/loopDevice';
import { parsePolicy } from '../policy/policyLoader';
import { LoopKeys, type PluggedKey } from '../testing/loopKeys';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { loadOrCreateStationKeys, readMark, writeMark } from '../usb/keyMarks';
import { formatDataRegion } from '../usb/keyPreparation';
import { MediaMounts } from '../usb/mediaMounts';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { cloisonPart } from './cloisonPart';
import { AttachedLoopKeys } from './attachedLoopKeys';
import { loopAttachExecutor } from './loopAttachExecutor';
import { loopDetachExecutor } from './loopDetachExecutor';
import { usbMountExecutor } from './usbMountExecutor';
import { usbPrepareExecutor } from './usbPrepareExecutor';
import { usbProbeExecutor } from './usbProbeExecutor';
import { usbUnmountExecutor } from './usbUnmountExecutor';

const LOW_UID = 58556;
const HIGH_UID = 58557;
const MiB = 2 ** 20;
let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let keys: LoopKeys;
let media: MediaMounts;
let part: ReturnType<typeof cloisonPart> | null = null;
let commands: Socket;
const replies = new Map<number, (reply: Reply) => void>();
let nextId = 1;
let stateDir: string;
let ownDir: string;

type Reply = { ok: boolean; result?: unknown; error?: string; code?: string | null };

beforeAll(async () => {
  root = testRoot('cloison-rusb-');
  chmodSync(root, 0o711);
  stateDir = join(root, 'state');
  mkdirSync(stateDir);
  keys = new LoopKeys(root);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(stateDir, 'manager-journal.jsonl'));
  const socketPath = join(root, 'manager.sock');
  const runDir = join(root, 'run');
  const trainingKeysDir = join(root, 'training');
  media = new MediaMounts(mediaRootOf(runDir));
  await media.prepare(['low', 'high']);
  // Default choices: low read-write, high read-only.
  const policyText = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) }, `usb: { unknown: ask, loopDevices: { backingDir: ${keys.backingDir} } }\n`);
  const policy = () => parsePolicy(policyText, 'p.yaml');
  const station = loadOrCreateStationKeys(join(stateDir, 'usb-mark.key'));
  const deps = { policy, runDir, trainingKeysDir, stationKeys: () => station };
  const loopKeys = new AttachedLoopKeys();
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, stateDir, runDir, trainingKeysDir, workstationUser: null },
    executors: { 'usb.probe': usbProbeExecutor(deps), 'usb.mount': usbMountExecutor(deps), 'usb.unmount': usbUnmountExecutor({ runDir }), 'usb.prepare': usbPrepareExecutor(deps), 'loop.attach': loopAttachExecutor(loopKeys), 'loop.detach': loopDetachExecutor(loopKeys) },
  });
  await server.listen();
  // The part's own folder: its journal, its command socket.
  ownDir = mkdtempSync(join(root, 'part-'));
  chownSync(ownDir, cloison.uid, cloison.gid);
  chmodSync(ownDir, 0o700);
  const commandSocket = join(ownDir, 'commands.sock');
  await new Promise<void>((resolve, reject) => {
    part = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, 'remoteUsbPart.testTool.ts') },
      account: () => cloison,
      start: { managerSocket: socketPath, policy: policyText, ownDir, runDir, trainingKeysDir, commandSocket, trainingKeysModule: join(__dirname, '../training/trainingKeys.ts') },
      message: (m) => {
        if (m.type !== 'listening') return;
        expect(m).toMatchObject({ usbReady: true, uid: cloison.uid });
        resolve();
      },
      restarting: (reason) => reject(new Error(`the part ended (${reason})`)),
    });
    part.start().catch(reject);
  });
  commands = connect(commandSocket);
  createInterface({ input: commands }).on('line', (line) => {
    const reply = JSON.parse(line) as Reply & { id: number };
    replies.get(reply.id)?.(reply);
    replies.delete(reply.id);
  });
}, 60_000);

afterAll(async () => {
  commands?.destroy();
  await part?.stop();
  await server?.close();
  journal?.close();
  await media?.unmountAllUnder();
  await keys?.cleanup();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

/** Asks the part (as the shell would, or as a compromised part would act). */
function ask(command: Record<string, unknown>): Promise<Reply> {
  const id = nextId++;
  return new Promise((resolve) => {
    replies.set(id, resolve);
    commands.write(`${JSON.stringify({ id, ...command })}\n`);
  });
}

async function devices(): Promise<DeviceView[]> {
  const reply = await ask({ cmd: 'list' });
  expect(reply.ok).toBe(true);
  return reply.result as DeviceView[];
}

/** The part's view of the key whose image (its "serial") is `serial`, once it satisfies `state`. */
async function deviceOnceIn(serial: string, state: DeviceView['state'] | 'gone'): Promise<DeviceView | undefined> {
  let found: DeviceView | undefined;
  await waitFor(async () => {
    found = (await devices()).find((d) => d.serial === serial);
    return state === 'gone' ? !found : found?.state === state;
  }, `${serial} ${state} in the part's list`, 30_000);
  return found;
}

/** Where the device is mounted, with its options (directly or through a loop device over it). */
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

/** The loop devices whose backing file is `file` (as sysfs writes it). */
function loopsOver(file: string): string[] {
  return readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n)).filter((n) => {
    try {
      return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trimEnd() === file;
    } catch {
      return false;
    }
  }).map((n) => `/dev/${n}`);
}

const readOnlyFlag = (devnode: string) => readFileSync(`/sys/block/${devnode.slice(5)}/ro`, 'utf8').trim();
const levelFolder = (level: string) => join(media.root, level);

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

function writeError(path: string): string | null {
  try {
    writeFileSync(path, 'written');
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

describe('USB keys through the cage manager, the broker in the cloison part', () => {
  let key: PluggedKey;

  it('a key plugged is found and probed, waits for the user; attached read-only at high it is mounted there only, a write fails; ejected it is unmounted', async () => {
    key = await keys.plug({ format: 'ext4', fileName: 'plain.img', label: 'PLAIN', files: { 'hello.txt': 'from the key' } });
    const waiting = await deviceOnceIn('plain.img', 'waiting');
    expect(waiting).toMatchObject({ fsType: 'ext4', label: 'PLAIN', mark: { status: 'none' }, problem: null, safeToRemove: true });
    expect(readOnlyFlag(key.devnode)).toBe('0'); // the manager's probe lifted its own flag

    // The part itself cannot open the device: reading it is the manager's.
    expect(await ask({ cmd: 'open', devnode: key.devnode })).toMatchObject({ ok: false, error: expect.stringMatching(/EACCES/) });

    // The policy's choices: high read-only only; the broker refuses read-write there.
    expect(await ask({ cmd: 'attach', device: waiting!.id, level: 'high', mode: 'read-write' })).toMatchObject({ ok: false, code: 'POLICY_DENIED' });
    const attached = await ask({ cmd: 'attach', device: waiting!.id, level: 'high', mode: 'read-only' });
    expect(attached).toMatchObject({ ok: true, result: { state: 'attached', level: 'high', mode: 'read-only', mediaName: 'PLAIN', safeToRemove: false } });
    const folder = join(levelFolder('high'), 'PLAIN');
    expect(mountsOf(key.devnode)).toEqual([{ point: folder, options: expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']) }]);
    expect(readFileSync(join(folder, 'hello.txt'), 'utf8')).toBe('from the key');
    expect(writeError(join(folder, 'written.txt'))).toBe('EROFS');
    expect(readOnlyFlag(key.devnode)).toBe('1'); // the block device too
    expect(readdirSync(levelFolder('low'))).toEqual([]);

    const ejected = await ask({ cmd: 'eject', device: waiting!.id });
    expect(ejected).toMatchObject({ ok: true, result: { state: 'detached', safeToRemove: true } });
    expect(mountsOf(key.devnode)).toEqual([]);
    expect(readdirSync(levelFolder('high'))).toEqual([]);
    expect(readOnlyFlag(key.devnode)).toBe('0');
  }, 60_000);

  it('attached read-write at low, written, then pulled out: the manager unmounts it and the part forgets it', async () => {
    const [view] = (await devices()).filter((d) => d.serial === 'plain.img');
    expect(await ask({ cmd: 'attach', device: view!.id, level: 'low', mode: 'read-write' })).toMatchObject({ ok: true, result: { state: 'attached', level: 'low' } });
    const folder = join(levelFolder('low'), 'PLAIN');
    expect(mountsOf(key.devnode)).toEqual([{ point: folder, options: expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']) }]);
    expect(writeError(join(folder, 'written.txt'))).toBeNull();
    const devnode = key.devnode;
    await key.pull();
    await deviceOnceIn('plain.img', 'gone');
    expect(mountsOf(devnode)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(folder);
    expect(readdirSync(levelFolder('low'))).toEqual([]);
  }, 60_000);

  it('pulled out while a program in the cage holds a file open on it: unmounted all the same, and a key of the same name after it is mounted', async () => {
    const busy = await keys.plug({ format: 'ext4', fileName: 'busy.img', label: 'BUSY', files: { 'open.txt': 'held open' } });
    const view = await deviceOnceIn('busy.img', 'waiting');
    expect(await ask({ cmd: 'attach', device: view!.id, level: 'low', mode: 'read-write' })).toMatchObject({ ok: true, result: { state: 'attached', mediaName: 'BUSY' } });
    const folder = join(levelFolder('low'), 'BUSY');
    // A program of the cage with a file open on the key (this test's own descriptor stands for it).
    const held = openSync(join(folder, 'open.txt'), 'r');
    try {
      const devnode = busy.devnode;
      await busy.pull();
      await deviceOnceIn('busy.img', 'gone');
      console.log(`a busy key pulled out: mounted at ${JSON.stringify(mountsOf(devnode))}`);
      expect(mountsOf(devnode)).toEqual([]);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(folder);
    } finally {
      closeSync(held);
    }
    // The next key with that label gets the same folder name from the broker and from the manager.
    const next = await keys.plug({ format: 'ext4', fileName: 'busy2.img', label: 'BUSY' });
    const nextView = await deviceOnceIn('busy2.img', 'waiting');
    expect(await ask({ cmd: 'attach', device: nextView!.id, level: 'low', mode: 'read-write' })).toMatchObject({ ok: true, result: { state: 'attached', mediaName: 'BUSY' } });
    expect(await ask({ cmd: 'eject', device: nextView!.id })).toMatchObject({ ok: true });
    await next.pull();
    await deviceOnceIn('busy2.img', 'gone');
  }, 60_000);

  it('a key marked for high goes to high; low is refused by the broker, and by the manager when the part asks it directly (journaled)', async () => {
    const station = loadOrCreateStationKeys(join(stateDir, 'usb-mark.key'));
    // Marked earlier at this workstation (the manager's secret), its filesystem owned by high's cage.
    const marked = await keys.plug({
      format: 'blank', fileName: 'marked.img', sizeMiB: 20,
      alter: async (image) => {
        writeMark(image, 20 * MiB, station, 'high');
        await formatDataRegion(image, 20 * MiB, HIGH_UID, 'HIGH');
      },
    });
    const arrived = await deviceOnceIn('marked.img', 'attached');
    expect(arrived).toMatchObject({ level: 'high', mode: 'read-write', mediaName: 'HIGH', mark: { status: 'valid', level: 'high' } });
    expect(mountsOf(marked.devnode).map((m) => m.point)).toEqual([join(levelFolder('high'), 'HIGH')]);
    expect(await ask({ cmd: 'eject', device: arrived!.id })).toMatchObject({ ok: true, result: { state: 'detached' } });
    expect(mountsOf(marked.devnode)).toEqual([]);

    const byTheUser = await ask({ cmd: 'attach', device: arrived!.id, level: 'low', mode: 'read-only' });
    expect(byTheUser).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringMatching(/bound to level "high"/) });
    const seen = refusals().length;
    for (const mode of ['read-write', 'read-only']) {
      const direct = await ask({ cmd: 'raw', request: { op: 'usb.mount', device: marked.devnode, level: 'low', mode, target: join(levelFolder('low'), 'HIGH') } });
      console.log(`a key marked for high, mounted in low ${mode} by the part's own request: ${JSON.stringify(direct)}`);
      expect(direct).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringMatching(/bound to level "high"/) });
    }
    expect(refusals().slice(seen)).toEqual([expect.objectContaining({ op: 'usb.mount', peerUid: cloison.uid }), expect.objectContaining({ op: 'usb.mount', peerUid: cloison.uid })]);
    expect(mountsOf(marked.devnode)).toEqual([]);
    expect(readdirSync(levelFolder('low'))).toEqual([]);
    await marked.pull();
    await deviceOnceIn('marked.img', 'gone');
  }, 60_000);

  it('a blank key marked for high by the user through the part: signed with the manager\'s secret (never the part\'s), attached at high; unmarked, erased whole', async () => {
    const blank = await keys.plug({ format: 'blank', fileName: 'blank.img', sizeMiB: 20 });
    const unusable = await deviceOnceIn('blank.img', 'unusable');
    expect(unusable).toMatchObject({ mark: { status: 'none' }, problem: expect.stringMatching(/no filesystem recognised/) });
    const marking = await ask({ cmd: 'mark', device: unusable!.id, level: 'high' });
    expect(marking).toMatchObject({ ok: true, result: { state: 'attached', level: 'high', mode: 'read-write', mediaName: 'HIGH', mark: { status: 'valid', level: 'high' } } });
    // The mark verifies with the manager's secret; the part's folder holds none of its own.
    const station = loadOrCreateStationKeys(join(stateDir, 'usb-mark.key'));
    expect(readMark(blank.devnode, 20 * MiB, station, ['low', 'high'])).toMatchObject({ status: 'valid', level: 'high' });
    expect(readdirSync(ownDir)).not.toContain('usb-mark.key');
    const folder = join(levelFolder('high'), 'HIGH');
    expect(mountsOf(blank.devnode)).toEqual([{ point: folder, options: expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']) }]);
    // The filesystem is high's cage user's.
    expect(statSync(folder).uid).toBe(HIGH_UID);
    expect(await ask({ cmd: 'unmark', device: unusable!.id })).toMatchObject({ ok: false, code: 'WRONG_STATE' }); // attached: eject first
    expect(await ask({ cmd: 'eject', device: unusable!.id })).toMatchObject({ ok: true });
    const unmarked = await ask({ cmd: 'unmark', device: unusable!.id });
    expect(unmarked).toMatchObject({ ok: true, result: { state: 'unusable', mark: { status: 'none' } } });
    expect(readMark(blank.devnode, 20 * MiB, station, ['low', 'high'])).toEqual({ status: 'none' });
    expect(mountsOf(blank.devnode)).toEqual([]);
    await blank.pull();
    await deviceOnceIn('blank.img', 'gone');
  }, 120_000);

  it('a training key made by the part in the keys\' folder and attached by the manager (loop.attach) is a key as another; unplugged, it is gone', async () => {
    // The keys' folder is the part's to write in; the manager attaches only regular files in it.
    chownSync(keys.backingDir, cloison.uid, cloison.gid);
    const plugged = await ask({ cmd: 'plugTraining', dir: keys.backingDir, label: 'DRILL' });
    console.log(`training key plugged by the part: ${JSON.stringify(plugged)}`);
    expect(plugged).toMatchObject({ ok: true, result: { serial: expect.stringMatching(/^DRILL-[0-9a-f]{6}\.img$/) } });
    const { serial } = plugged.result as { serial: string };
    const image = join(keys.backingDir, serial);
    expect(statSync(image).uid).toBe(cloison.uid);
    const view = await deviceOnceIn(serial, 'waiting');
    expect(view).toMatchObject({ bus: 'loop', fsType: 'ext4', label: 'DRILL', mark: { status: 'none' } });
    const devnode = loopsOver(image)[0]!;
    expect(await ask({ cmd: 'attach', device: view!.id, level: 'low', mode: 'read-write' })).toMatchObject({ ok: true, result: { state: 'attached', mediaName: 'DRILL' } });
    expect(readFileSync(join(levelFolder('low'), 'DRILL', 'consigne.txt'), 'utf8')).toBe('training');
    expect(await ask({ cmd: 'eject', device: view!.id })).toMatchObject({ ok: true, result: { state: 'detached' } });
    expect(await ask({ cmd: 'unplugTraining', serial })).toMatchObject({ ok: true });
    await deviceOnceIn(serial, 'gone');
    expect(mountsOf(devnode)).toEqual([]);
    // Unplugged, its loop device is detached by the manager (loop.detach): none left over the deleted image.
    expect(loopsOver(`${image} (deleted)`)).toEqual([]);
    expect(existsSync(`/sys/block/${devnode.slice(5)}/loop/backing_file`)).toBe(false);
  }, 60_000);

  it('loop.detach asked by a compromised part for a cage\'s home loop device, a key still plugged, a key the manager did not attach: refused (journaled), each still attached', async () => {
    // A cage's home: its image in the state folder, attached by the manager (here by the test, as root).
    const homeDir = join(stateDir, 'cages', 'low');
    mkdirSync(homeDir, { recursive: true });
    const homeImage = join(homeDir, 'home.img');
    execFileSync('truncate', ['-s', '8M', homeImage]);
    const home = await attachLoopWritable(homeImage);
    // A training key the part plugged, still plugged (its image in the folder).
    const plugged = await ask({ cmd: 'plugTraining', dir: keys.backingDir, label: 'KEPT' });
    const kept = join(keys.backingDir, (plugged.result as { serial: string }).serial);
    const keptLoop = loopsOver(kept)[0]!;
    // A key of the folder the manager did not attach (a real key's stand-in), pulled: its image deleted, not detached.
    const other = await keys.plug({ format: 'ext4', fileName: 'other.img', label: 'OTHER' });
    rmSync(other.image);
    const seen = refusals().length;
    try {
      const outcomes: Record<string, Reply> = {};
      for (const [what, device] of [['home', home], ['plugged', keptLoop], ['other', other.devnode], ['real', '/dev/sda']] as const) {
        outcomes[what] = await ask({ cmd: 'raw', request: { op: 'loop.detach', device } });
      }
      console.log(`loop.detach asked by the part: ${JSON.stringify(outcomes)}`);
      for (const what of ['home', 'plugged', 'other']) expect(outcomes[what]).toMatchObject({ ok: false, code: 'POLICY_DENIED' });
      expect(outcomes.real).toMatchObject({ ok: false });
      expect(loopsOver(homeImage)).toEqual([home]);
      expect(loopsOver(kept)).toEqual([keptLoop]);
      expect(loopsOver(`${other.image} (deleted)`)).toEqual([other.devnode]);
      expect(refusals().slice(seen)).toEqual([0, 1, 2, 3].map(() => expect.objectContaining({ op: 'loop.detach', peerUid: cloison.uid })));
    } finally {
      if (loopsOver(homeImage).length > 0) execFileSync('losetup', ['--detach', home]);
      rmSync(homeImage, { force: true });
      await other.pull();
    }
    const serial = (plugged.result as { serial: string }).serial;
    await deviceOnceIn(serial, 'waiting');
    expect(await ask({ cmd: 'unplugTraining', serial })).toMatchObject({ ok: true });
    await deviceOnceIn(serial, 'gone');
    expect(loopsOver(`${kept} (deleted)`)).toEqual([]);
  }, 60_000);
});
