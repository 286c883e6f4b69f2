/**
 * The session lock wired to the supervisor: who may unlock (the workstation's user, fixed at start,
 * never learnt from whoever connects later: issue #27), the lock before sleep, and what a change
 * of the lock does — the shells first (their frames go before the viewers' connections do), then
 * `apply` (no input, no viewer, no question while locked).
 */
import { join } from 'node:path';
import type { LockView } from '../../shared/rpc';
import type { PolicyReader } from '../policy/policyReader';
import { checkUnlockPassword } from './pamCheck';
import { SessionLock, type SessionLockOptions } from './sessionLock';
import { SleepGuard, type LockBeforeSleep } from './sleepGuard';
import { resolveWorkstationUser, type WorkstationUser } from './workstationUser';

export interface LockWiringOptions {
  policy: PolicyReader<'session'>;
  stateDir: string;
  /** --shell-user, else the policy's session.user, else the kiosk unit's. */
  shellUser: string | undefined;
  record: SessionLockOptions['record'];
  /** The shells, told each change of the lock (and of the sleep guard's state). */
  show: (view: LockView) => void;
  /** Applies a change of the lock beyond the shells (called once more by the caller at start). */
  apply: (locked: boolean) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export function wireSessionLock(options: LockWiringOptions): { lock: SessionLock; sleepGuard: SleepGuard } {
  const { policy } = options;
  return wireSessionLockWith(options, (onSleep, onState) => new SleepGuard({ onSleep, onState, ...(options.log ? { log: options.log } : {}) }), (workstation) => (user, password) => checkUnlockPassword(policy.current().session.pamService, user, password, workstation));
}

/**
 * The lock wired with the given lock before sleep and password check: here (wireSessionLock), or
 * in the unprivileged `cloison` part through the cage manager (cageManager/managedSessionLock.ts).
 */
export function wireSessionLockWith<G extends LockBeforeSleep>(
  options: LockWiringOptions,
  makeGuard: (onSleep: () => void, onState: () => void) => G,
  checker: (workstation: WorkstationUser) => SessionLockOptions['checkPassword'],
): { lock: SessionLock; sleepGuard: G } {
  const { policy, log } = options;
  const sleepGuard = makeGuard(
    () => lock.lock('suspend'),
    () => options.show(lock.view()),
  );
  const workstation = resolveWorkstationUser({ shellUser: options.shellUser, policyUser: policy.current().session.user });
  if (workstation.problem) log?.('nobody can unlock this workstation', { reason: workstation.problem });
  const check = workstation.user ? checker(workstation.user) : null;
  const lock: SessionLock = new SessionLock({
    policy,
    record: options.record,
    // No user: the lock refuses before any check (sessionLock.ts noUser).
    checkPassword: (user, password) => (check ? check(user, password) : Promise.resolve(false)),
    user: workstation.user,
    ...(workstation.problem ? { noUserReason: workstation.problem } : {}),
    markerFile: join(options.stateDir, 'session.locked'),
    failuresFile: join(options.stateDir, 'unlock-failures.json'),
    beforeSleep: () => sleepGuard.state,
  });
  lock.on('change', (view) => {
    options.show(view);
    options.apply(view.locked);
    // Unlocked: the lock before sleep holds again (a forged "going to sleep" may have released it).
    if (!view.locked) sleepGuard.hold();
  });
  return { lock, sleepGuard };
}
