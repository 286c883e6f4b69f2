/**
 * USB keys wired to the supervisor: the media root the cages bind, the device broker deciding each
 * key, and the watcher that finds them (sysfs scans and udev events). Which loop devices count as
 * keys is read from the running policy at each scan, and a reload rescans at once.
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

export function wireUsb(options: UsbWiringOptions): { mediaMounts: MediaMounts; devices: DeviceBroker; deviceWatcher: DeviceWatcher } {
  const { policy, confirmations, log, trainingKeysDir } = options;
  const mediaMounts = new MediaMounts(mediaRootOf(options.runDir));
  const devices = new DeviceBroker({
    policy,
    mounts: mediaMounts,
    journal: options.journal,
    cageUidOf: options.cageUidOf,
    stationKeys: loadOrCreateStationKeys(join(options.stateDir, 'usb-mark.key')),
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

/**
 * The shared media root, made before any cage binds its folder of it. Returns whether keys can be
 * used at all, and how USB stops: every key let go (journaled) before the media mounts go.
 */
export async function prepareUsb(usb: { mediaMounts: MediaMounts; devices: DeviceBroker }, levels: string[], log?: UsbWiringOptions['log']): Promise<{ ready: boolean; stop: () => Promise<void> }> {
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
