/**
 * The loop devices `loop.attach` attached, each with the file it attached (device and inode, as
 * the kernel holds them) and the image's name then: what `loop.detach` may detach, and only while
 * the device is still over that very file. A home's loop device (home.mount), a key the manager
 * did not attach, a device detached and taken since by another file: none is here, or none
 * matches. Kept in memory for the manager's life (a restarted manager detaches none of the earlier
 * ones: they stay over their deleted images, as before the request existed).
 */
import type { FileIdentity } from '../cages/loopOverDescriptor';

export interface AttachedLoopKey extends FileIdentity {
  image: string;
}

export class AttachedLoopKeys {
  private readonly byDevice = new Map<string, AttachedLoopKey>();

  record(device: string, key: AttachedLoopKey): void {
    this.byDevice.set(device, key);
  }

  get(device: string): AttachedLoopKey | undefined {
    return this.byDevice.get(device);
  }

  /** Every device recorded, with its key (a copy: detaching forgets them meanwhile). */
  entries(): Array<[string, AttachedLoopKey]> {
    return [...this.byDevice];
  }

  forget(device: string): void {
    this.byDevice.delete(device);
  }
}
