/**
 * What the manager knows of a key before it acts on it (`usb.probe`, `usb.mount`, `usb.prepare`),
 * found by itself, never taken from the request: the device is held open (a loop device held open
 * cannot be bound to another file meanwhile: a key pulled and its number reused by a cage's home
 * image is not what gets mounted or erased), then found again among the keys the running policy
 * names (usb/sysfsBlockDevices.ts) with the very device number opened; its mark is read with the
 * manager's own secret (usb/keyMarks.ts), its filesystem probed in the sandbox
 * (usb/filesystemProbe.ts), and the policy's decision for it made as the broker makes it
 * (usb/devicePolicy.ts). One request at a time per device: two mounts or a mount and an erase
 * cannot both pass the "not mounted" check.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync } from 'node:fs';
import type { Policy } from '../../shared/policy';
import { loopBackingDirOf } from '../policy/runningPolicy';
import { decideDevice, type DeviceDecision } from '../usb/devicePolicy';
import { probeFilesystem, type FilesystemInfo, type ProbeRegion } from '../usb/filesystemProbe';
import { dataRegion, readMark, type MarkReading, type StationKeys } from '../usb/keyMarks';
import { scanBlockDevices, type BlockDevice } from '../usb/sysfsBlockDevices';
import { refused } from './openedExactly';

export interface UsbKeyDeps {
  /** The running policy, read at each request. */
  policy(): Policy;
  runDir: string;
  /** Where training keys are made (loop devices over it are keys when training is allowed). */
  trainingKeysDir: string;
  /** This workstation's mark secret, read by the manager (usb-mark.key in the state folder). */
  stationKeys(): StationKeys;
  /** Where /sys is (tests of device naming point it elsewhere). */
  sysRoot?: string;
  /** The sandboxed probe (usb/filesystemProbe.ts). */
  probe?: (devnode: string, region?: ProbeRegion) => Promise<FilesystemInfo | null>;
}

export interface HeldKey {
  fd: number;
  device: BlockDevice;
}

export interface KeyFacts extends HeldKey {
  mark: MarkReading;
  filesystem: FilesystemInfo | null;
  /** Where a marked key's filesystem lies (here or another workstation's mark); the whole device otherwise. */
  region: ProbeRegion | undefined;
  decision: DeviceDecision;
}

/** The device opened and found among the policy's keys now, with that very device number; the caller closes `fd`. */
export function heldKey(devnode: string, deps: UsbKeyDeps): HeldKey {
  let fd: number;
  try {
    fd = openSync(devnode, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw refused(`device ${devnode} cannot be opened (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isBlockDevice()) throw refused(`${devnode} is not a block device`);
    const loopBackingDir = loopBackingDirOf(deps.policy(), deps.trainingKeysDir);
    const sys = deps.sysRoot ?? '/sys';
    const device = scanBlockDevices({ sysRoot: sys, ...(loopBackingDir ? { loopBackingDir } : {}) }).find((d) => d.devnode === devnode);
    if (!device) throw refused(`device ${devnode} is not a key the policy names`);
    const [major, minor] = readFileSync(`${sys}/class/block/${device.name}/dev`, 'utf8').trim().split(':').map(Number);
    if (deviceNumber(major!, minor!) !== stat.rdev) throw refused(`device ${devnode} changed while it was checked`);
    return { fd, device };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Linux's dev_t as stat gives it (new_encode_dev). */
function deviceNumber(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12);
}

/** Everything the manager needs to decide on a key held open: its mark, its filesystem, the policy's decision. */
export async function examinedKey(held: HeldKey, deps: UsbKeyDeps): Promise<KeyFacts> {
  const policy = deps.policy();
  const { device } = held;
  const mark = readMark(device.devnode, device.sizeBytes, deps.stationKeys(), policy.levels.map((l) => l.id));
  const region = mark.status === 'valid' || mark.status === 'foreign' ? dataRegion(device.sizeBytes) : undefined;
  const filesystem = mark.status === 'invalid' ? null : await (deps.probe ?? probeFilesystem)(device.devnode, region);
  const identity = { vendorId: device.vendorId, productId: device.productId, serial: device.serial, uuid: filesystem?.uuid ?? null };
  const decision = decideDevice(policy.usb, identity, mark.status === 'valid' ? mark.level : null);
  return { ...held, mark, filesystem, region, decision };
}

/** Mount points whose source is the device, or a loop device over it (a marked key's region); from mountinfo. */
export function mountsOf(devnode: string): string[] {
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const source = fields[fields.indexOf('-') + 2];
    if (source && (source === devnode || loopBackingOf(source) === devnode)) points.push(unescape(fields[4] ?? ''));
  }
  return points;
}

/** Loop devices over the device (a marked key's region attached by hand, a mount being made): a device in use. */
export function loopsOver(devnode: string): string[] {
  return readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n) && loopBackingOf(`/dev/${n}`) === devnode).map((n) => `/dev/${n}`);
}

function loopBackingOf(source: string): string | null {
  const loop = /^\/dev\/(loop\d+)$/.exec(source);
  if (!loop) return null;
  try {
    return readFileSync(`/sys/block/${loop[1]}/loop/backing_file`, 'utf8').trimEnd();
  } catch {
    return null;
  }
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

const busy = new Set<string>();

/** Runs `work` with the device to itself: a second request for the same device meanwhile is refused. */
export async function withKeyAlone<T>(devnode: string, work: () => Promise<T>): Promise<T> {
  if (busy.has(devnode)) throw refused(`device ${devnode} is busy with another request`);
  busy.add(devnode);
  try {
    return await work();
  } finally {
    busy.delete(devnode);
  }
}
