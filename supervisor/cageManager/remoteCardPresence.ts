/**
 * The card pulled out, as the cloison part learns of it: the reader is the cage manager's to list
 * (cardPresenceWatch.ts), and the part keeps a `card.presence` request pending, asked again at once
 * after each answer with the count it last had. Each answer's serials, compared with the ones the
 * part knew, make the same change the root supervisor's own watch makes (cardPresence.ts): the
 * broker marks the levels and journals smartcard.removed / inserted. The manager has already
 * restarted its proxies by then; the broker's own restart of its guards costs nothing more.
 *
 * A failed wait asks again a second later; after a lost connection without `after`, since a
 * manager started again counts from nothing (the serials are still compared with the known ones,
 * so a card pulled while the manager was away is still seen). Nothing is asked while the part's
 * policy has no card (a reload withdrew it): the manager would refuse each time.
 */
import { CloisonError } from '../../shared/errors';
import type { CardChange } from '../smartcard/cardPresence';
import type { CardPresenceAnswer } from './cardPresenceWatch';
import type { ManagerRequester } from './managerLink';

export interface RemoteCardPresenceOptions {
  client: ManagerRequester;
  change: (change: CardChange) => void;
  /** Whether the part's running policy has a card (no: nothing asked, the manager would refuse). */
  active?: () => boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  retryMs?: number;
}

export class RemoteCardPresence {
  private seq: number | null = null;
  private known: Set<string> | null = null;
  private stopped = true;

  constructor(private readonly options: RemoteCardPresenceOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.ask();
  }

  stop(): void {
    this.stopped = true;
  }

  private ask(): void {
    if (this.stopped || this.options.client.closed) return;
    if (this.options.active && !this.options.active()) {
      setTimeout(() => this.ask(), this.options.retryMs ?? 1000).unref();
      return;
    }
    this.options.client.request({ op: 'card.presence', ...(this.seq !== null ? { after: this.seq } : {}) }).then(
      (answer) => {
        if (this.stopped) return;
        const { seq, present } = answer as CardPresenceAnswer;
        this.seq = seq;
        this.update(new Set(present));
        this.ask();
      },
      (err: Error) => {
        if (this.stopped || this.options.client.closed) return;
        this.options.log?.('the card presence from the cage manager failed; asking again', { error: err.message.slice(0, 200) });
        if (err instanceof CloisonError && err.code === 'CONNECTION_LOST') this.seq = null;
        setTimeout(() => this.ask(), this.options.retryMs ?? 1000).unref();
      },
    );
  }

  /** The first answer is the baseline (said, no removal); then each difference is a change. */
  private update(now: Set<string>): void {
    const before = this.known;
    this.known = now;
    const removed = before ? [...before].filter((s) => !now.has(s)) : [];
    const inserted = before ? [...now].filter((s) => !before.has(s)) : [];
    if (!before || removed.length > 0 || inserted.length > 0) this.options.change({ removed, inserted, present: [...now] });
  }
}

/** The part's watch of the reader, through the manager (partSides.ts gives it to wireSmartcard). */
export const remoteCardPresence =
  (client: ManagerRequester) =>
  (change: (change: CardChange) => void, log?: (msg: string, fields?: Record<string, unknown>) => void, active?: () => boolean): RemoteCardPresence =>
    new RemoteCardPresence({ client, change, ...(log ? { log } : {}), ...(active ? { active } : {}) });
