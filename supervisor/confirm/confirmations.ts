/**
 * Trusted confirmations: the supervisor asks the shell, the user answers in a dialog the shell
 * draws, and the answer comes back by RPC. One question at a time per kind; unanswered questions
 * are refused after a timeout. A cage has no path to this RPC, so it cannot answer for the user.
 */
import { randomUUID } from 'node:crypto';
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
  timeoutMs?: number;
}

export class Confirmations {
  private readonly pending = new Map<string, { resolve: (a: Answer) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly options: ConfirmationsOptions) {}

  ask(question: Question): Promise<Answer> {
    if (this.pending.size > 0) throw new CloisonError('LIMIT_EXCEEDED', 'another confirmation is already waiting for the user');
    const id = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(id, 'timed-out'), this.options.timeoutMs ?? 60_000);
      this.pending.set(id, { resolve, timer });
      this.options.publish({ id, ...question } as ConfirmRequest);
    });
  }

  answer(id: string, answer: Answer): void {
    const p = this.pending.get(id);
    if (!p) throw new CloisonError('BAD_REQUEST', 'no such confirmation (answered already, or timed out)');
    this.pending.delete(id);
    clearTimeout(p.timer);
    this.options.settle(id, answer);
    p.resolve(answer);
  }

  /** Refuses everything still waiting (the supervisor is stopping). */
  refuseAll(): void {
    for (const id of [...this.pending.keys()]) this.answer(id, 'refused');
  }
}
