/**
 * The session lock in the unprivileged `cloison` part: the same SessionLock and wiring as the root
 * supervisor's (session/lockWiring.ts), its password checked by the cage manager (`pam.check`, its
 * own failure count: remoteUnlockCheck.ts), its inhibitor held and the sleep announced by it
 * (`sleep.inhibit`, `sleep.wait`: remoteSleepGuard.ts). The workstation's user is resolved as the
 * root supervisor resolves it; the manager checks only the one it fixed at its own start.
 */
import { wireSessionLockWith, type LockWiringOptions } from '../session/lockWiring';
import type { SessionLock } from '../session/sessionLock';
import type { LockBeforeSleep } from '../session/sleepGuard';
import { liveRequester, type ManagerLink } from './managerLink';
import { RemoteSleepGuard } from './remoteSleepGuard';
import { remoteUnlockCheck } from './remoteUnlockCheck';

export function wireManagedSessionLock(options: LockWiringOptions, manager: ManagerLink): { lock: SessionLock; sleepGuard: LockBeforeSleep } {
  const check = remoteUnlockCheck(liveRequester(manager));
  return wireSessionLockWith(
    options,
    (onSleep, onState) => new RemoteSleepGuard({ client: liveRequester(manager), onSleep, onState, ...(options.log ? { log: options.log } : {}) }),
    () => check,
  );
}
