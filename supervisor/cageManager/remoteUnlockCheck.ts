/**
 * The lock's password check when the supervisor is the unprivileged `cloison` part: `pam.check` to
 * the root cage manager, which runs PAM as the workstation's user and counts failures itself
 * (pamCheckExecutor.ts). Its answer becomes the lock's verdict with the manager's count; its
 * refusal while its wait runs (LIMIT_EXCEEDED, its count and wait in its words) becomes a
 * CheckerCountHolds, so the lock screen says "wait N s" with the manager's numbers rather than
 * counting one more failure for a password that was never checked.
 */
import { CloisonError } from '../../shared/errors';
import { CheckerCountHolds, type PasswordVerdict } from '../session/unlockVerdict';
import type { ManagerRequester } from './managerLink';

/** pamCheckExecutor.ts's refusal while its wait runs: "wait N s before the next password check (K failures in a row)". */
const MANAGER_WAIT = /wait (\d+) s before the next password check \((\d+) failures in a row\)/;

export function remoteUnlockCheck(client: ManagerRequester): (user: string, password: string) => Promise<PasswordVerdict> {
  return async (user, password) => {
    let answer: unknown;
    try {
      answer = await client.request({ op: 'pam.check', user, password });
    } catch (err) {
      const wait = err instanceof CloisonError && err.code === 'LIMIT_EXCEEDED' ? MANAGER_WAIT.exec(err.message) : null;
      if (wait) throw new CheckerCountHolds(Number(wait[2]), Number(wait[1]) * 1000);
      throw err; // refused otherwise, or the connection lost: the lock counts it as a failed check
    }
    const result = answer as { ok?: unknown; failures?: unknown; retryInMs?: unknown };
    if (result.ok === true) return true;
    if (result.ok === false && Number.isInteger(result.failures) && Number.isFinite(result.retryInMs)) return { ok: false, failures: result.failures as number, retryInMs: result.retryInMs as number };
    throw new Error('the cage manager\'s answer to pam.check is not one');
  };
}
