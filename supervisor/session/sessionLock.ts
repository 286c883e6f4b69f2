/**
 * The workstation's lock: the supervisor decides when it locks and whether it unlocks; the shell
 * only draws it (docs/design.md, Session). It locks after the policy's idle time (input to the shell,
 * as the trusted page reports it — never what a viewer or a cage says), on the user's request,
 * on the administrator's, and before the machine sleeps. While it is locked no cage gets input,
 * no viewer is connected and nothing crosses (the supervisor wires those to `locked`).
 *
 * Unlocking takes the password of the workstation's user (fixed at start, workstationUser.ts),
 * checked by PAM, sent by that user's own shell (unlockCaller.ts): an attempt from any other
 * connection is refused unchecked and journaled. Each failure — a wrong password, and a PAM check
 * that errs or times out — is journaled (user and count, never the text) and makes the next
 * attempt wait longer: 3 s, 6 s, 12 s… up to a minute; after the policy's `maxFailures` in a row
 * the lock screen says so and the journal marks it. The lock, the failure count and the next
 * allowed attempt outlive a supervisor restart: they are written to the state folder.
 */
import { EventEmitter } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import { unlockCallerRefusal, type UnlockCaller } from './unlockCaller';
import { UnlockFailures } from './unlockFailures';
import { CheckerCountHolds, type PasswordVerdict } from './unlockVerdict';
import type { WorkstationUser } from './workstationUser';
import type { PolicyReader } from '../policy/policyReader';
import type { LockView } from '../../shared/rpc';

export type LockCause = 'idle' | 'user' | 'admin' | 'suspend' | 'restart';

export interface SessionLockOptions {
  policy: PolicyReader<'session'>;
  /** Records a fact; a record that cannot be written never stops a lock. */
  record: (kind: string, actor: 'user' | 'admin' | 'supervisor', fields: Record<string, string | number | boolean>) => void;
  /**
   * Checks a password for a user (PAM); resolves false on a wrong password. Through the cage
   * manager: its answer with its own count, or a CheckerCountHolds while its wait runs
   * (unlockVerdict.ts).
   */
  checkPassword: (user: string, password: string) => Promise<PasswordVerdict>;
  /** The account whose password unlocks (fixed when the supervisor starts), or null if none is known. */
  user: WorkstationUser | null;
  /** Why no user is known, for the error an unlock attempt gets. */
  noUserReason?: string;
  /** Present while locked, so a restarted supervisor starts locked. */
  markerFile: string;
  /** The failure count and the next allowed attempt, kept across restarts. */
  failuresFile: string;
  /** Whether the machine's sleep waits for the lock (logind), for the lock screen to say. */
  beforeSleep?: () => 'logind' | 'unavailable';
  now?: () => number;
}

/** The wait after the nth failure in a row: 3 s, doubled each time, at most a minute. */
export function failureDelayMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(3000 * 2 ** (failures - 1), 60_000);
}

export class SessionLock extends EventEmitter<{ change: [LockView] }> {
  private lockedSince: number | null = null;
  private lastActivity: number;
  /** The user's own delay for this session, until the next lock. */
  private chosenSeconds: number | null = null;
  private readonly failureStore: UnlockFailures;
  private failures: number;
  private retryAt: number;
  private checking = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: SessionLockOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.lastActivity = this.now();
    this.failureStore = new UnlockFailures(options.failuresFile);
    ({ failures: this.failures, retryAt: this.retryAt } = this.failureStore.read());
    if (existsSync(options.markerFile)) this.lock('restart');
    else this.schedule();
  }

  get locked(): boolean {
    return this.lockedSince !== null;
  }

  /** The delay in force: the user's choice for this session, else the policy's. */
  get lockAfterSeconds(): number {
    const { lockAfterSeconds, userMayExtendUpTo } = this.options.policy.current().session;
    return this.chosenSeconds === null ? lockAfterSeconds : Math.min(this.chosenSeconds, userMayExtendUpTo);
  }

  view(): LockView {
    const policy = this.options.policy.current().session;
    return {
      locked: this.locked,
      failures: this.failures,
      retryInMs: Math.max(0, this.retryAt - this.now()),
      tooManyFailures: this.failures >= policy.maxFailures,
      lockAfterSeconds: this.lockAfterSeconds,
      policyLockAfterSeconds: policy.lockAfterSeconds,
      userMayExtendUpTo: policy.userMayExtendUpTo,
      user: this.options.user?.name ?? null,
      beforeSleep: this.options.beforeSleep?.() ?? 'unavailable',
    };
  }

  /** Input reached the shell: the idle clock starts again (nothing happens while locked). */
  activity(): void {
    if (!this.locked) this.lastActivity = this.now();
  }

  lock(cause: LockCause): void {
    if (this.locked) return;
    this.lockedSince = this.now();
    this.chosenSeconds = null; // a delay the user chose lasts until the workstation next locks
    this.clearTimer();
    try {
      writeFileSync(this.options.markerFile, `${new Date(this.lockedSince).toISOString()} ${cause}\n`, { mode: 0o600 });
    } catch {
      /* locked all the same; only a restart would forget it */
    }
    this.options.record('session.lock', cause === 'user' ? 'user' : cause === 'admin' ? 'admin' : 'supervisor', { cause });
    this.emit('change', this.view());
  }

  /**
   * One unlock attempt. Refused without a check when it does not come from the workstation user's
   * shell (journaled), while the delay of the last failure runs, or while another check runs; a
   * wrong password or a check that fails is a failure, journaled, and lengthens the next delay.
   */
  async unlock(password: string, caller: UnlockCaller): Promise<LockView> {
    if (!this.locked) return this.view();
    const user = this.options.user?.name ?? '';
    const noUser = user
      ? null
      : bilingual(
          'aucun utilisateur du poste n’est connu : l’administrateur doit le nommer (--shell-user NOM ou session.user dans la politique)',
          this.options.noUserReason ?? 'no workstation user is known: start the supervisor with --shell-user NAME or set session.user in the policy',
        );
    const refusal = noUser ?? unlockCallerRefusal(caller, this.options.user);
    if (refusal) {
      this.options.record('session.unlock-refused', 'supervisor', { transport: caller.transport, ...(caller.peerUid !== undefined ? { peerUid: caller.peerUid } : {}), reason: refusal.en });
      throw new CloisonError(noUser ? 'WRONG_STATE' : 'NOT_AUTHORISED', refusal);
    }
    const wait = this.retryAt - this.now();
    if (wait > 0) throw new CloisonError('LIMIT_EXCEEDED', bilingual(`attendez ${Math.ceil(wait / 1000)} s avant le prochain essai`, `wait ${Math.ceil(wait / 1000)} s before the next attempt`));
    if (this.checking) throw new CloisonError('WRONG_STATE', bilingual('un mot de passe est déjà en cours de vérification', 'a password is already being checked'));
    this.checking = true;
    let verdict: PasswordVerdict;
    let error: string | null = null;
    try {
      verdict = await this.options.checkPassword(user, password);
    } catch (err) {
      if (err instanceof CheckerCountHolds) {
        this.checking = false;
        throw this.checkerWait(err);
      }
      // PAM erred or timed out: a failure like any other, or an attacker would make it err for free tries.
      verdict = false;
      error = (err as Error).message.slice(0, 200);
    } finally {
      this.checking = false;
    }
    if (!this.locked) return this.view();
    const ok = typeof verdict === 'boolean' ? verdict : verdict.ok;
    if (!ok) {
      // The checker's own count when it keeps one (the cage manager's), else one more here.
      this.failures = typeof verdict === 'boolean' ? this.failures + 1 : verdict.failures;
      this.retryAt = this.now() + (typeof verdict === 'boolean' ? failureDelayMs(this.failures) : verdict.retryInMs);
      this.failureStore.write({ failures: this.failures, retryAt: this.retryAt });
      const { maxFailures } = this.options.policy.current().session;
      this.options.record('session.unlock-failed', 'user', { user, failures: this.failures, delayMs: failureDelayMs(this.failures), ...(error ? { error } : {}), ...(this.failures >= maxFailures ? { alert: true } : {}) });
      this.emit('change', this.view());
      return this.view();
    }
    const lockedFor = Math.round((this.now() - this.lockedSince!) / 1000);
    this.options.record('session.unlock', 'user', { user, failuresBefore: this.failures, lockedForSeconds: lockedFor });
    this.lockedSince = null;
    this.failures = 0;
    this.retryAt = 0;
    this.failureStore.clear();
    this.lastActivity = this.now();
    rmSync(this.options.markerFile, { force: true });
    this.schedule();
    this.emit('change', this.view());
    return this.view();
  }

  /**
   * The checker (the cage manager) refused unchecked while its own wait runs: the lock screen takes
   * its count and wait, and the user reads the same refusal as for the lock's own wait.
   */
  private checkerWait(held: CheckerCountHolds): CloisonError {
    this.failures = held.failures;
    this.retryAt = Math.max(this.retryAt, this.now() + held.retryInMs);
    this.failureStore.write({ failures: this.failures, retryAt: this.retryAt });
    this.emit('change', this.view());
    const seconds = Math.max(1, Math.ceil((this.retryAt - this.now()) / 1000));
    return new CloisonError('LIMIT_EXCEEDED', bilingual(`attendez ${seconds} s avant le prochain essai`, `wait ${seconds} s before the next attempt`));
  }

  /** The user's delay for this session, within what the policy allows. */
  chooseDelay(seconds: number): LockView {
    const { userMayExtendUpTo } = this.options.policy.current().session;
    if (seconds > userMayExtendUpTo) throw new CloisonError('POLICY_DENIED', bilingual(`la politique permet au plus ${userMayExtendUpTo} s avant le verrouillage`, `the policy allows at most ${userMayExtendUpTo} s before locking`));
    this.chosenSeconds = seconds;
    this.options.record('session.lock-delay', 'user', { seconds });
    this.schedule();
    this.emit('change', this.view());
    return this.view();
  }

  /** A reloaded policy: the new delay applies from now. */
  policyChanged(): void {
    if (!this.locked) this.schedule();
    this.emit('change', this.view());
  }

  dispose(): void {
    this.clearTimer();
  }

  private schedule(): void {
    this.clearTimer();
    const due = this.lastActivity + this.lockAfterSeconds * 1000 - this.now();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.locked) return;
      if (this.now() - this.lastActivity >= this.lockAfterSeconds * 1000) this.lock('idle');
      else this.schedule();
    }, Math.max(0, due));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
