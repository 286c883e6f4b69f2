/**
 * The USB broker's root acts in the `cloison` part (issue #29): each one a request to the root cage
 * manager, which decides from its own running policy and its own mark secret (the part never holds
 * the secret, never opens a device, never mounts):
 * - reading a key: `usb.probe` answers the mark's reading and the filesystem parsed, nothing else;
 * - mounting: `usb.mount` with the device, the level and mode the user chose and the folder the
 *   broker named (the manager derives the same name and refuses another; the cage's uid, a marked
 *   key's region and the read-only flag are its own);
 * - ejecting, and a key pulled out: `usb.unmount` (flushed, unmounted, the device made read-write
 *   again by the manager); a pulled key the manager cannot unmount is left to the next clean-up;
 * - marking and unmarking: `usb.prepare`.
 * The media root is the manager's, made shared before it starts a cage: nothing to prepare here.
 * `remoteUsbActs` is what the supervisor gives usb/usbWiring.ts's wireUsb when it has a manager.
 */
import { join } from 'node:path';
import { mediaRootOf } from '../cages/bwrapDriver';
import { NO_FILESYSTEM, type KeyMounts, type KeyPreparer, type KeyReader, type UsbRootActs } from '../usb/keyRootActs';
import type { ManagerRequester } from './managerLink';
import type { UsbPrepareResult } from './usbPrepareExecutor';
import type { UsbProbeResult } from './usbProbeExecutor';

export function remoteKeyReader(client: ManagerRequester): KeyReader {
  return {
    async examine(device) {
      let answer: UsbProbeResult;
      try {
        answer = (await client.request({ op: 'usb.probe', device: device.devnode })) as UsbProbeResult;
      } catch (err) {
        return { mark: { status: 'none' }, fs: null, problem: `cannot read the device: ${(err as Error).message}` };
      }
      const { mark, filesystem } = answer;
      if (mark.status === 'invalid') return { mark, fs: null, problem: `refused: ${mark.reason}` };
      return { mark, fs: filesystem, problem: filesystem ? null : NO_FILESYSTEM };
    },
  };
}

export function remoteKeyMounts(client: ManagerRequester, runDir: string): KeyMounts {
  const root = mediaRootOf(runDir);
  const unmount = async (target: string, devnode: string) => {
    await client.request({ op: 'usb.unmount', device: devnode, target });
  };
  return {
    prepare: async () => undefined,
    async mount(req) {
      const { mounted } = (await client.request({ op: 'usb.mount', device: req.devnode, level: req.level, mode: req.mode, target: join(root, req.level, req.name) })) as { mounted: string };
      return mounted;
    },
    eject: (target, devnode) => unmount(target, devnode),
    detachGone: (target, devnode) => unmount(target, devnode).catch(() => undefined),
    // The manager's usb.unmount lifts the flag of a key it unmounts from a read-only mount.
    releaseReadOnly: async () => undefined,
    // Each key was let go by the broker's close (usb.unmount); the root itself is the manager's.
    unmountAllUnder: async () => undefined,
  };
}

export function remoteKeyPreparer(client: ManagerRequester): KeyPreparer {
  return {
    async mark(device, _current, level) {
      const done = (await client.request({ op: 'usb.prepare', device: device.devnode, level, action: 'mark' })) as UsbPrepareResult;
      if (done.action !== 'mark') throw new Error(`the cage manager answered ${done.action} to a mark`);
      return { markId: done.markId, erased: done.erased };
    },
    async unmark(device, level) {
      if (level === null) throw new Error('the policy lets this device go to no level, which could ask to unmark it');
      await client.request({ op: 'usb.prepare', device: device.devnode, level, action: 'unmark' });
    },
  };
}

/** Every root act of USB through the manager: wireUsb's second argument in the `cloison` part. */
export function remoteUsbActs(client: ManagerRequester, runDir: string): UsbRootActs {
  return { mounts: remoteKeyMounts(client, runDir), reader: remoteKeyReader(client), preparer: remoteKeyPreparer(client) };
}
