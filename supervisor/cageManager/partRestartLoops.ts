/**
 * When the `cloison` part ends and is started again, the training keys its broker had plugged stay
 * attached as loop devices here (root's, made by `loop.attach`) while the new part knows none of
 * them: the device watcher would offer them again as keys of a drill that ended, and each restart
 * would hold more devices. The manager detaches them with its part's keys' mounts
 * (partRestartKeys.ts), through loop.detach's own checks: only a device `loop.attach` attached
 * (AttachedLoopKeys), whose image was in the training keys' folder, and still over that very file
 * — without waiting for the image to be removed (the part that would remove it is gone; the image
 * is the part's file, left in its folder). Each is journaled. Synchronous, as the unmounts are: the
 * new part must not find a key half detached.
 */
import { sep } from 'node:path';
import type { AuditFields } from '../audit/auditJournal';
import type { AttachedLoopKeys } from './attachedLoopKeys';
import { detachAttachedKey } from './loopDetachExecutor';

/** Detaches the training keys the ended part had attached (see above); answers the devices detached. */
export function detachLoopsOfEndedPart(deps: { attached: AttachedLoopKeys; trainingKeysDir: string; journal: { append(kind: string, actor: string, fields: AuditFields): unknown }; reason: string }): string[] {
  const detached: string[] = [];
  for (const [device, key] of deps.attached.entries()) {
    if (!key.image.startsWith(deps.trainingKeysDir + sep)) continue; // a key of the policy's own folder of loop keys: not a drill's
    let outcome = 'detached';
    try {
      detachAttachedKey(deps.attached, device, key, { imageRemoved: false });
      detached.push(device);
    } catch (err) {
      outcome = `refused: ${(err as Error).message.slice(0, 200)}`;
    }
    deps.journal.append('loop.partRestartDetach', 'supervisor', {
      device,
      image: key.image.slice(0, 300),
      outcome,
      reason: `the cloison part ended (${deps.reason.slice(0, 200)}) and is started again`,
    });
  }
  return detached;
}
