/**
 * The wiring the supervisor calls (issue #29): given the cage manager's link, the AudioBroker's
 * descriptors come from the manager (managerSoundEnds.ts); without it, from this process as root,
 * as before the split. Spread into the AudioBroker's options.
 */
import type { RemoteSoundEnds } from '../audio/remoteSoundEnds';
import { liveRequester, type ManagerLink } from './managerLink';
import { ManagerSoundEnds } from './managerSoundEnds';

export function audioThroughManager(manager: ManagerLink | undefined): { remote?: RemoteSoundEnds } {
  return manager ? { remote: new ManagerSoundEnds(liveRequester(manager)) } : {};
}
