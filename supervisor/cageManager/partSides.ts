/**
 * The `cloison` part's remote sides, chosen in one place (#29): for each root act of the
 * supervisor's subsystems, what goes through the cage manager when the supervisor is the part
 * (`manager` given); nothing when it is the root supervisor, whose subsystems then act themselves.
 */
import type { PolicySourceReader } from '../policy/runningPolicy';
import { policyFromManager } from './policyTextFromManager';
import { join } from 'node:path';
import type { Policy, VncCagePolicy } from '../../shared/policy';
import type { CageDriver } from '../cages/cageDriver';
import { VncDriver } from '../cages/vncDriver';
import type { CageXTools } from '../clipboard/cageXTools';
import { PART_STAGING_DIR } from '../files/fileStaging';
import type { PolicyReader } from '../policy/policyReader';
import type { LockWiringOptions } from '../session/lockWiring';
import { wireSessionLock } from '../session/lockWiring';
import type { SessionLock } from '../session/sessionLock';
import type { LockBeforeSleep } from '../session/sleepGuard';
import type { UsbRootActs } from '../usb/keyRootActs';
import { audioThroughManager } from './audioThroughManager';
import { wireManagedSessionLock } from './managedSessionLock';
import { managerRunningApps } from './managerAppPrograms';
import { liveRequester, type ManagerLink } from './managerLink';
import { rejoiningDrivers } from './rejoiningCageDriver';
import { remoteCardPresence } from './remoteCardPresence';
import { remoteCardProxies } from './remoteCardProxy';
import { wireRemoteCageHomes, type RemoteCageHomes } from './remoteCageHomes';
import { remoteTrainingKeyLoops } from './remoteTrainingKeys';
import { remoteUsbActs } from './remoteUsbKeys';
import { remoteVncDrivers } from './remoteVncDriver';
import { managerXTools } from './xToolsWiring';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export function partSides(manager: ManagerLink | undefined, own: { stateDir: string; runDir: string }, log?: Log) {
  // The manager's run folder holds the cages' keys, media and card folders; the part's own its state.
  const managerRunDir = manager?.managerDirs?.runDir ?? own.runDir;
  const requester = manager ? liveRequester(manager) : null;
  return {
    managerRunDir,
    // The part's reloads take the manager's text (`policy.current`), never the file: one reading (#29).
    policySource: (source: string): 'whole' | PolicySourceReader => (requester ? () => policyFromManager(requester, source) : 'whole'),
    // The part's staging tmpfs is mounted by the manager in its own run folder (no link the part could plant there).
    stagingDir: manager ? join(managerRunDir, PART_STAGING_DIR) : join(own.runDir, 'staging'),
    // The proxies and the reader's watch are the manager's; the part guards, asks the PIN and journals.
    card: manager ? { remote: remoteCardProxies(manager), presence: remoteCardPresence(liveRequester(manager)) } : {},
    drivers: (policy: () => Pick<Policy, 'levels' | 'audio'>) => (manager ? { remote: rejoiningDrivers(manager, policy, own, log), remoteVnc: vncDrivers(manager) } : {}),
    audio: audioThroughManager(manager),
    // The part cannot reach a cage's X socket: the manager runs its X tools (undefined: root runs its own).
    xTools: (fleet: { policy: PolicyReader; isRunning(level: string): boolean }): CageXTools | undefined => managerXTools(manager, fleet) ?? undefined,
    homes: (policy: PolicyReader): RemoteCageHomes | null => (manager ? wireRemoteCageHomes(manager, policy) : null),
    usbActs: (requester ? remoteUsbActs(requester, managerRunDir) : undefined) satisfies UsbRootActs | undefined,
    training: requester ? { manager: { client: requester }, keyLoops: remoteTrainingKeyLoops(requester) } : {},
    apps: requester ? { runningApps: managerRunningApps(requester) } : {},
    // The password checked by the manager (its own count), the sleep learnt from it.
    lock: (options: LockWiringOptions): { lock: SessionLock; sleepGuard: LockBeforeSleep } => (manager ? wireManagedSessionLock(options, manager) : wireSessionLock(options)),
  };
}

/**
 * A vnc level's driver in the part: a socket endpoint (a VM's, root's) reached through the manager's
 * `vnc.connect`; a TCP one connected by the part itself, as root would — a local port is anyone's
 * to connect to, root adds nothing there, and the part keeps its network (it serves the shell).
 */
function vncDrivers(manager: ManagerLink): (level: string, cage: VncCagePolicy) => CageDriver {
  const throughManager = remoteVncDrivers(manager);
  return (level, cage) => ('socket' in cage.endpoint ? throughManager(level, cage.endpoint.socket) : new VncDriver({ cage }));
}

export type PartSides = ReturnType<typeof partSides>;
