/**
 * Trusted confirmations: the supervisor asks the shell, the user answers in a dialog the shell
 * draws, and the answer comes back by RPC. One question at a time per kind; unanswered questions
 * are refused after a timeout. A cage has no path to this RPC, so it cannot answer for the user.
 *
 * The supervisor enforces what the dialog shows (trusted path, property 5): an answer that comes
 * sooner than the arming time after the question was shown is refused and the question stays,
 * whatever the renderer let through; and while a question waits, `onWaiting` tells the focus state
 * to give no cage any input.
 */
import { randomUUID } from 'node:crypto';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { ConfirmRequest } from '../../shared/rpc';

export type Answer = 'accepted' | 'refused' | 'timed-out';

/** A confirmation request before the registry gives it its id (Omit distributed over the union). */
export type Question = ConfirmRequest extends infer R ? (R extends ConfirmRequest ? Omit<R, 'id'> : never) : never;

export interface ConfirmationsOptions {
  /** Shows the question to every connected shell. */
  publish: (request: ConfirmRequest) => void;
  /** Tells every shell the question is settled (its dialog closes). */
  settle: (id: string, answer: Answer) => void;
  /** True while a question waits for the user; false once none does. */
  onWaiting?: (waiting: boolean) => void;
  timeoutMs?: number;
  /** No answer from the user is taken this soon after the question was shown. */
  armMs?: number;
  now?: () => number;
}

/** The dialogs' arming time: the renderer shows it, the supervisor enforces it. */
export const CONFIRM_ARM_MS = 500;

export class Confirmations {
  private readonly pending = new Map<string, { resolve: (a: Answer) => void; timer: NodeJS.Timeout; shownAt: number }>();
  private readonly now: () => number;

  constructor(private readonly options: ConfirmationsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** `shown` gets the question's id as it is published (the smart card's PIN dialog matches its answer by it). */
  ask(question: Question, shown?: (id: string) => void): Promise<Answer> {
    if (this.pending.size > 0) throw new CloisonError('LIMIT_EXCEEDED', bilingual('une autre question attend déjà votre réponse', 'another confirmation is already waiting for the user'));
    const id = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(id, 'timed-out'), this.options.timeoutMs ?? 60_000);
      this.pending.set(id, { resolve, timer, shownAt: this.now() });
      this.options.onWaiting?.(true);
      shown?.(id);
      this.options.publish({ id, ...question } as ConfirmRequest);
    });
  }

  /** The user's answer from a dialog: refused (and the question kept) if it comes before the arming time. */
  answerFromUser(id: string, answer: 'accepted' | 'refused'): void {
    const p = this.pending.get(id);
    if (p && this.now() - p.shownAt < (this.options.armMs ?? CONFIRM_ARM_MS)) {
      throw new CloisonError(
        'WRONG_STATE',
        bilingual(
          `réponse ${this.now() - p.shownAt} ms après l’affichage de la question : une fenêtre ne prend aucune réponse avant ${this.options.armMs ?? CONFIRM_ARM_MS} ms`,
          `answered ${this.now() - p.shownAt} ms after the question was shown: a dialog takes no answer before ${this.options.armMs ?? CONFIRM_ARM_MS} ms`,
        ),
      );
    }
    this.answer(id, answer);
  }

  answer(id: string, answer: Answer): void {
    const p = this.pending.get(id);
    if (!p) throw new CloisonError('BAD_REQUEST', bilingual('cette question n’existe plus (déjà répondue, ou délai dépassé)', 'no such confirmation (answered already, or timed out)'));
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.pending.size === 0) this.options.onWaiting?.(false);
    this.options.settle(id, answer);
    p.resolve(answer);
  }

  /** Refuses everything still waiting (the supervisor is stopping). */
  refuseAll(): void {
    for (const id of [...this.pending.keys()]) this.answer(id, 'refused');
  }

  /** Ends every question left unanswered when the workstation locked: nothing crosses. */
  expireAll(): void {
    for (const id of [...this.pending.keys()]) this.answer(id, 'timed-out');
  }
}
