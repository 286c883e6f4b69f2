/**
 * The manager's side of `pam.check`: the workstation user's password (that user alone, fixed when
 * the manager started: AuthorizationContext.workstationUser) checked by the PAM service the running
 * policy names (`session.pamService`, one of the fixed set the policy admits), pamtester running as
 * that user (session/pamCheck.ts). The password is never journaled, logged nor kept.
 *
 * The manager counts failures itself: a compromised `cloison` part could otherwise try passwords
 * as fast as PAM answers. After each failure the next check waits 3 s, doubled each time up to a
 * minute (sessionLock.ts's delay); one check at a time. A check asked while the wait runs is not
 * checked and not counted: it is answered `waiting` with the count and the wait left, as data —
 * the part's lock shows those numbers, it never reads them out of an English sentence. The count is written to the manager's
 * state folder before PAM is asked (unlockFailures.ts: whole-file writes), as a failure, and cleared
 * only by a success: a manager restart — or one killed in the middle of a check — forgets nothing.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { checkUnlockPassword, type PamIdentity } from '../session/pamCheck';
import { failureDelayMs } from '../session/sessionLock';
import { UnlockFailures } from '../session/unlockFailures';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';

export interface PamCheckExecutorOptions {
  policy(): Policy;
  /** The workstation's user, fixed when the manager started (null: nobody's password is checked). */
  workstationUser: ({ name: string } & PamIdentity) | null;
  /** The manager's own failure count (its state folder, 0600). */
  failuresFile: string;
  now?: () => number;
}

/** `waiting`: not checked (the wait of `failures` holds `retryInMs` more); otherwise PAM's verdict, a failure counted. */
export type PamCheckResult = { ok: true } | { ok: false; failures: number; retryInMs: number } | { ok: false; waiting: true; failures: number; retryInMs: number };

export function pamCheckExecutor(options: PamCheckExecutorOptions): (req: RequestOf<'pam.check'>) => Promise<PamCheckResult> {
  const store = new UnlockFailures(options.failuresFile);
  const now = options.now ?? Date.now;
  let checking = false;
  return async (req) => {
    const user = options.workstationUser;
    if (!user || req.user !== user.name) throw refused(`user ${req.user} is not the workstation's`);
    const { failures, retryAt } = store.read();
    const wait = retryAt - now();
    if (wait > 0) return { ok: false, waiting: true, failures, retryInMs: wait };
    if (checking) throw new CloisonError('WRONG_STATE', bilingual('un mot de passe est déjà en cours de vérification', 'a password is already being checked'));
    checking = true;
    try {
      // Counted as a failure before PAM is asked: only a success takes it back. A count that cannot
      // be written refuses this check and frees the next (the finally below).
      const failed = { failures: failures + 1, retryAt: now() + failureDelayMs(failures + 1) };
      store.write(failed);
      let ok = false;
      try {
        ok = await checkUnlockPassword(options.policy().session.pamService, user.name, req.password, { uid: user.uid, gid: user.gid });
      } catch {
        ok = false; // a check that errs or times out is a failure, as the lock counts it
      }
      if (ok) {
        store.clear();
        return { ok: true };
      }
      // The wait runs from PAM's answer, as the lock's does (sessionLock.ts): PAM's own failure delay
      // would otherwise use most of it up.
      const after = { failures: failed.failures, retryAt: now() + failureDelayMs(failed.failures) };
      store.write(after);
      return { ok: false, failures: after.failures, retryInMs: Math.max(0, after.retryAt - now()) };
    } finally {
      checking = false;
    }
  };
}
