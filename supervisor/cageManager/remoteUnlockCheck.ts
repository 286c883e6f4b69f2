/**
 * The lock's password check when the supervisor is the unprivileged `cloison` part: `pam.check` to
 * the root cage manager, which runs PAM as the workstation's user and counts failures itself
 * (pamCheckExecutor.ts). Its answer becomes the lock's verdict with the manager's count; its
 * answer while its wait runs (`waiting`: not checked, its count and the wait left, as numbers)
 * becomes a CheckerCountHolds, so the lock screen says "wait N s" with the manager's numbers rather
 * than counting one more failure for a password that was never checked.
 */
import { CheckerCountHolds, type PasswordVerdict } from '../session/unlockVerdict';
import type { ManagerRequester } from './managerLink';

export function remoteUnlockCheck(client: ManagerRequester): (user: string, password: string) => Promise<PasswordVerdict> {
  return async (user, password) => {
    // A refusal or the connection lost throws: the lock counts it as a failed check.
    const result = Object(await client.request({ op: 'pam.check', user, password })) as { ok?: unknown; waiting?: unknown; failures?: unknown; retryInMs?: unknown };
    if (result.ok === true) return true;
    const counted = Number.isInteger(result.failures) && (result.failures as number) >= 0 && Number.isFinite(result.retryInMs) && (result.retryInMs as number) >= 0;
    if (result.ok === false && result.waiting === true && counted) throw new CheckerCountHolds(result.failures as number, result.retryInMs as number);
    if (result.ok === false && result.waiting === undefined && counted) return { ok: false, failures: result.failures as number, retryInMs: result.retryInMs as number };
    throw new Error('the cage manager\'s answer to pam.check is not one');
  };
}
