/**
 * What a password check answers the lock. Checked here (PAM as the workstation's user): a boolean,
 * and the lock keeps the count. Checked by the root cage manager (`pam.check`): the manager keeps
 * its own count — a compromised part must not guess faster than the lock screen — so its answer
 * carries that count and the wait it imposes, and the lock screen shows the manager's numbers, not
 * a count of the part's own that could fall behind (a part restarted, its state folder emptied).
 */
import { CloisonError } from '../../shared/errors';

export type PasswordVerdict = boolean | { ok: boolean; failures: number; retryInMs: number };

/**
 * The checker refused without checking: the wait of its own count holds. Not one more failure (no
 * password was tried); the lock takes the checker's count and says how long to wait.
 */
export class CheckerCountHolds extends CloisonError {
  constructor(
    readonly failures: number,
    readonly retryInMs: number,
  ) {
    super('LIMIT_EXCEEDED', `the password checker makes the next attempt wait ${Math.ceil(retryInMs / 1000)} s (${failures} failures in a row)`);
    this.name = 'CheckerCountHolds';
  }
}
