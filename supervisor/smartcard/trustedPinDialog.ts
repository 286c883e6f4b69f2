/**
 * The trusted PIN dialog's supervisor side (`smartcard.pin: trusted`): a cage's login asks the
 * shell, through the trusted confirmations (one question at a time, no cage input while it waits,
 * expired when the workstation locks), for the card's PIN; the user's answer comes back by RPC
 * (`smartcard.pin`), which no cage can reach. The PIN's bytes go to the one login that asked and
 * are zeroed once written (trustedPinLogin.ts); they are never journaled, logged, or sent back.
 *
 * Trust rule: one dialog at a time — a login arriving while one is open is refused, never queued
 * behind it (a cage could otherwise line up a login for the user's next PIN). A PIN is taken only
 * for the question it answers (its id), never as the answer to any other confirmation.
 * A level whose dialog the user cancelled or left unanswered asks again only after a hold-off (5 s,
 * doubling up to 5 min, ended by a PIN typed): a cage calling C_Login in a loop would otherwise keep
 * the dialog up — no cage input, the user's own confirmations refused, the other level's login busy.
 * The application whose login asked going (its connection closed) closes its dialog at once: the
 * user is not left asked for a PIN that would go nowhere; that counts as a dialog with no PIN.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { Confirmations } from '../confirm/confirmations';

export type PinOutcome = 'typed' | 'cancelled' | 'timed-out' | 'busy' | 'held-off' | 'cage-gone';

const FIRST_HOLD_OFF_MS = 5_000;
const LONGEST_HOLD_OFF_MS = 5 * 60_000;

export interface TrustedPinDialogOptions {
  confirmations: () => Confirmations | null;
  /** What became of each dialog (never the PIN): journaled smartcard.pin. */
  outcome: (level: string, outcome: PinOutcome) => void;
  now?: () => number;
  /** The first hold-off after a dialog with no PIN (default 5 s; 0: none, for tests of one login after another). */
  firstHoldOffMs?: number;
}

export class TrustedPinDialog {
  private current: { id: string | null; typed: Buffer | null } | null = null;
  /** Per level: no dialog before `until`; journaled once per hold-off (`told`). */
  private readonly holdOff = new Map<string, { until: number; length: number; told: boolean }>();

  constructor(private readonly options: TrustedPinDialogOptions) {}

  /** Asks the user for the PIN of `level`'s login; null if none was typed. `gone`: the login's connection closed. */
  async ask(level: string, application: string, gone?: AbortSignal): Promise<Buffer | null> {
    if (gone?.aborted) return null;
    const now = (this.options.now ?? Date.now)();
    const hold = this.holdOff.get(level);
    if (hold && now < hold.until) {
      if (!hold.told) this.options.outcome(level, 'held-off');
      hold.told = true;
      return null;
    }
    const confirmations = this.options.confirmations();
    if (this.current || !confirmations) {
      this.options.outcome(level, 'busy');
      return null;
    }
    const current: { id: string | null; typed: Buffer | null } = { id: null, typed: null };
    this.current = current;
    let cageGone = false;
    const close = () => {
      cageGone = true;
      try {
        if (current.id !== null) confirmations.answer(current.id, 'refused');
      } catch {
        // answered already: its outcome is still the cage's going
      }
    };
    gone?.addEventListener('abort', close, { once: true });
    try {
      const answer = await confirmations.ask({ kind: 'pin', level, application }, (id) => (current.id = id));
      const pin = answer === 'accepted' && !cageGone ? current.typed : null;
      if (cageGone) current.typed?.fill(0);
      this.options.outcome(level, pin ? 'typed' : cageGone ? 'cage-gone' : answer === 'timed-out' ? 'timed-out' : 'cancelled');
      if (pin) this.holdOff.delete(level);
      else {
        const length = hold ? Math.min(hold.length * 2, LONGEST_HOLD_OFF_MS) : (this.options.firstHoldOffMs ?? FIRST_HOLD_OFF_MS);
        this.holdOff.set(level, { until: (this.options.now ?? Date.now)() + length, length, told: false });
      }
      return pin;
    } catch {
      // Another question is waiting for the user: this login is refused, not queued.
      this.options.outcome(level, 'busy');
      return null;
    } finally {
      gone?.removeEventListener('abort', close);
      this.current = null;
    }
  }

  /** The PIN the user typed for question `id` (then that question is answered). */
  typed(id: string, pin: string): void {
    const current = this.current;
    const confirmations = this.options.confirmations();
    if (!current || current.id !== id || !confirmations) throw new CloisonError('BAD_REQUEST', bilingual('aucun code PIN n’est demandé sous ce numéro', 'no PIN is being asked under this id'));
    current.typed = Buffer.from(pin, 'utf8');
    try {
      confirmations.answerFromUser(id, 'accepted');
    } catch (err) {
      current.typed.fill(0);
      current.typed = null;
      throw err;
    }
  }
}
