/**
 * The manager's side of `usb.mount`: a key mounted in one level's media folder, where only that
 * level's cage sees it. The manager decides everything but the choice the user made: the device
 * is held and found again among the policy's keys (usbProbeFacts.ts), its mark read and its
 * filesystem probed here; the level and mode must be one the policy allows for that device (its
 * mark binds it, a rule, the choices: usb/devicePolicy.ts's refusalFor, as the broker asks); the
 * filesystem's type one the policy allows; the target exactly `<media root>/<level>/<name>` with
 * the name the broker derives from the label (usb/deviceText.ts's mediaDirName, unique among the
 * level's folders); a device mounted anywhere already is refused. Then usb/mediaMounts.ts mounts
 * it as today: nosuid,nodev,noexec, the device set read-only for a read-only mount, a marked
 * key's region only, FAT-like files owned by the level's cage uid.
 */
import { closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cageUid } from '../../shared/policy';
import { mediaRootOf } from '../cages/bwrapDriver';
import { refusalFor } from '../usb/devicePolicy';
import { mediaDirName } from '../usb/deviceText';
import { MediaMounts } from '../usb/mediaMounts';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import { examinedKey, heldKey, loopsOver, mountsOf, withKeyAlone, type UsbKeyDeps } from './usbProbeFacts';

export function usbMountExecutor(deps: UsbKeyDeps): (req: RequestOf<'usb.mount'>) => Promise<{ mounted: string }> {
  const media = new MediaMounts(mediaRootOf(deps.runDir));
  return (req) =>
    withKeyAlone(req.device, async () => {
      const policy = deps.policy();
      const index = policy.levels.findIndex((l) => l.id === req.level);
      const cage = policy.levels[index]?.cage;
      if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage to receive devices`);
      const held = heldKey(req.device, deps);
      try {
        const already = [...mountsOf(req.device), ...loopsOver(req.device).map((l) => `${l} over it`)];
        if (already.length > 0) throw refused(`device ${req.device} is in use already (${already.slice(0, 3).join(', ').slice(0, 200)})`);
        const key = await examinedKey(held, deps);
        if (key.mark.status === 'invalid') throw refused(`device ${req.device}: ${key.mark.reason}`);
        const refusal = refusalFor(key.decision, req.level, req.mode);
        if (refusal) throw refused(`device ${req.device}: ${refusal}`);
        const fs = key.filesystem;
        if (!fs) throw refused(`device ${req.device}: no filesystem recognised`);
        if (!policy.usb.filesystems.includes(fs.type as never)) throw refused(`device ${req.device}: filesystem "${fs.type.slice(0, 20)}" is not allowed by the policy`);
        const levelDir = media.levelDir(req.level);
        const name = mediaDirName(fs.label, `usb-${(fs.uuid ?? key.device.name).slice(0, 8)}`, new Set(readdirSync(levelDir)));
        const expected = join(levelDir, name);
        if (req.target !== expected) throw refused(`mount point ${JSON.stringify(req.target.slice(0, 200))} is not the key's folder (${JSON.stringify(expected)})`);
        const mounted = await media.mount({ devnode: req.device, fsType: fs.type, mode: req.mode, level: req.level, name, uid: cageUid(cage, index), ...(key.region ? { region: key.region } : {}) });
        return { mounted };
      } finally {
        closeSync(held.fd);
      }
    });
}
