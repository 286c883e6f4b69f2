/**
 * USB keys wired to the supervisor: the media root the cages bind, the device broker deciding each
 * key, and the watcher that finds them (sysfs scans and udev events). Which loop devices count as
 * keys is read from the running policy at each scan, and a reload rescans at once.
 *
 * Given the manager's acts (the supervisor is the unprivileged `cloison` part, issue #29:
 * cageManager/remoteUsbKeys.ts's remoteUsbActs) the broker decides as before, but reads, mounts,
 * unmounts, erases and marks keys through the root cage manager; the watcher only reads sysfs,
 * which any user may; the mark secret stays the manager's (not read here). Without them, the root
 * part does all of it itself (keyRootActs.ts's local acts), as before the split.
 */
import { join } from 'node:path';
import type { DeviceView } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import { mediaRootOf } from '../cages/bwrapDriver';
import type { Confirmations } from '../confirm/confirmations';
import type { RunningPolicy } from '../policy/runningPolicy';
import { loopBackingDirOf } from '../policy/runningPolicy';
import { DeviceBroker } from './deviceBroker';
import { DeviceWatcher } from './deviceWatcher';
import { loadOrCreateStationKeys } from './keyMarks';
import { localKeyPreparer, localKeyReader, type KeyMounts, type UsbRootActs } from './keyRootActs';
import { MediaMounts } from './mediaMounts';

export interface UsbWiringOptions {
  policy: RunningPolicy;
  stateDir: string;
  runDir: string;
  journal: AuditJournal;
  confirmations: Confirmations;
  cageUidOf: (level: string) => number | null;
  /** Loop devices over images here count as keys when the policy allows training (training keys). */
  trainingKeysDir: string;
  onDevices: (devices: DeviceView[]) => void;
  scanMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface WiredUsb<M extends KeyMounts> {
  mediaMounts: M;
  devices: DeviceBroker;
  deviceWatcher: DeviceWatcher;
}

/** `rootActs`: the manager's (the `cloison` part); absent, the root part's own (and the mark secret read here). */
export function wireUsb(options: UsbWiringOptions): WiredUsb<MediaMounts>;
export function wireUsb(options: UsbWiringOptions, rootActs: UsbRootActs | undefined): WiredUsb<KeyMounts>;
export function wireUsb(options: UsbWiringOptions, rootActs?: UsbRootActs): WiredUsb<KeyMounts> {
  const { policy, confirmations, log, trainingKeysDir } = options;
  const acts = rootActs ?? localActs(options);
  const mediaMounts = acts.mounts;
  const devices = new DeviceBroker({
    policy,
    ...acts,
    journal: options.journal,
    cageUidOf: options.cageUidOf,
    confirm: (question) => confirmations.ask(question),
  });
  devices.on('change', options.onDevices);
  // Read at each scan from the running policy: a reload that changes it applies at the next scan (made at once).
  const deviceWatcher = new DeviceWatcher({
    get loopBackingDir() {
      return loopBackingDirOf(policy.current(), trainingKeysDir);
    },
    ...(options.scanMs ? { intervalMs: options.scanMs } : {}),
  });
  policy.onChange(() => deviceWatcher.rescan());
  deviceWatcher.on('arrived', (device) => void devices.arrived(device).catch((err: Error) => log?.('device arrival failed', { error: err.message })));
  deviceWatcher.on('removed', (device) => void devices.removed(device).catch((err: Error) => log?.('device removal failed', { error: err.message })));
  return { mediaMounts, devices, deviceWatcher };
}

function localActs(options: UsbWiringOptions): UsbRootActs {
  const stationKeys = loadOrCreateStationKeys(join(options.stateDir, 'usb-mark.key'));
  return { mounts: new MediaMounts(mediaRootOf(options.runDir)), reader: localKeyReader(stationKeys), preparer: localKeyPreparer(stationKeys) };
}

/**
 * The shared media root, made before any cage binds its folder of it. Returns whether keys can be
 * used at all, and how USB stops: every key let go (journaled) before the media mounts go.
 */
export async function prepareUsb(usb: { mediaMounts: KeyMounts; devices: DeviceBroker }, levels: string[], log?: UsbWiringOptions['log']): Promise<{ ready: boolean; stop: () => Promise<void> }> {
  const ready = await usb.mediaMounts.prepare(levels).then(
    () => true,
    (err: Error) => (log?.('USB devices unavailable: cannot prepare the media mounts', { error: err.message }), false),
  );
  const stop = async () => {
    await usb.devices.close();
    await usb.mediaMounts.unmountAllUnder();
  };
  return { ready, stop };
}
