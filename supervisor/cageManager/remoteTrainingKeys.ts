/**
 * Training keys in the `cloison` part (issue #29): the part makes the key's image in the keys'
 * folder itself (training/trainingKeys.ts), and the cage manager attaches it (`loop.attach`: the
 * image opened without following a link, a regular file in the folder the policy names, attached
 * by its descriptor). Unplugging removes the image, which is what makes the watchers (the part's
 * and the manager's) drop the key, then asks the manager to detach its loop device (`loop.detach`:
 * only a device loop.attach attached, still over that file, whose image is gone).
 */
import type { ManagerRequester } from './managerLink';

/** training/trainingKeys.ts's TrainingKeyLoops (a room beside this one: the shape, not the import). */
export function remoteTrainingKeyLoops(client: ManagerRequester): { attach(image: string): Promise<string>; detach(devnode: string): Promise<void> } {
  return {
    async attach(image) {
      const { device } = (await client.request({ op: 'loop.attach', image })) as { device: string };
      return device;
    },
    async detach(devnode) {
      await client.request({ op: 'loop.detach', device: devnode });
    },
  };
}
