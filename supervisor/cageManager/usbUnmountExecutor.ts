/**
 * The manager's side of `usb.unmount`: a key mounted in a level's media folder, unmounted. The
 * authorization checked the mount point lies under the media root; here it must also be a key's
 * own folder (`<media>/<level>/<name>`, not a level's folder nor the shared root itself) and be
 * mounted from the very device the request names — directly, or through the loop device a marked
 * key's region is mounted over — so the part cannot unmount another key, a level's folder, or
 * anything else by naming a device of its own. Then usb/mediaMounts.ts's eject: flushed (a key
 * mounted read-write), unmounted, its folder removed, the device put back read-write. A key pulled
 * out (its device gone from sysfs, or a loop device's image deleted: what the watcher calls pulled)
 * is detached at once instead, as the root supervisor does (a lazy unmount, no flush on a dead
 * device): seen before, a pulled key a cage program held a file open on stayed mounted in the
 * cage, its folder name refusing the next key of the same label (cageManager/remoteUsb.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { mediaRootOf } from '../cages/bwrapDriver';
import { MediaMounts } from '../usb/mediaMounts';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

/** The mount at exactly `point` in this process's mountinfo: its source and whether it is read-only. */
function mountAt(point: string): { source: string; readOnly: boolean } | null {
  let found: { source: string; readOnly: boolean } | null = null;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const at = fields[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (at !== point) continue;
    const dash = fields.indexOf('-');
    // The last mount at a point is the one seen there.
    found = { source: fields[dash + 2] ?? '', readOnly: (fields[5] ?? '').split(',').includes('ro') };
  }
  return found;
}

/** The key is no longer plugged: its block device gone, or a loop device's image deleted (usb/sysfsBlockDevices.ts). */
function pulledOut(device: string): boolean {
  const name = device.slice('/dev/'.length);
  if (!existsSync(`/sys/class/block/${name}`)) return true;
  if (!name.startsWith('loop')) return false;
  try {
    return readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trimEnd().endsWith(' (deleted)');
  } catch {
    return true; // detached
  }
}

/** Whether `source` is `device`, or a loop device over it (a marked key's region). */
function isFrom(source: string, device: string): boolean {
  if (source === device) return true;
  const loop = /^\/dev\/(loop\d+)$/.exec(source);
  if (!loop) return false;
  try {
    return readFileSync(`/sys/block/${loop[1]}/loop/backing_file`, 'utf8').trimEnd() === device;
  } catch {
    return false;
  }
}

export function usbUnmountExecutor(folders: { runDir: string }): (req: RequestOf<'usb.unmount'>) => Promise<{ unmounted: string }> {
  const media = new MediaMounts(mediaRootOf(folders.runDir));
  return async (req) => {
    if (dirname(dirname(req.target)) !== media.root) throw refused(`mount point ${JSON.stringify(req.target.slice(0, 200))} is not a key's folder in a level's media folder`);
    const mount = mountAt(req.target);
    if (!mount) throw refused(`nothing is mounted at ${JSON.stringify(req.target.slice(0, 200))}`);
    if (!isFrom(mount.source, req.device)) throw refused(`${JSON.stringify(req.target.slice(0, 200))} is not mounted from ${req.device}`);
    if (pulledOut(req.device)) {
      await media.detachGone(req.target);
      if (mount.readOnly) await media.releaseReadOnly(req.device).catch(() => undefined);
    } else await media.eject(req.target, req.device, mount.readOnly ? 'read-only' : 'read-write');
    return { unmounted: req.target };
  };
}
