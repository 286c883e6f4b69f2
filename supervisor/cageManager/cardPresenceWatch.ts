/**
 * The manager's side of `card.presence`, and its own watch of the reader when the supervisor is the
 * cloison part: the module is loaded as a card proxy's uid (cardPresence.ts, setpriv), which the
 * part cannot do, and the proxies a pulled card must restart are the manager's.
 *
 * Least privilege both ways. The manager restarts every proxy it runs itself when the token's
 * serials change (CardProxies.restartRunning): a part that never asks — or asks and ignores the
 * answer — cannot keep a pulled card's sessions alive. The part learns of the change by a request
 * left pending, as `sleep.wait` and `cage.wait` are: `card.presence {after}` is answered at once
 * when the manager's count of changes is not `after` (the part missed one, or the manager started
 * again), else when the next change is seen — with that count and the serials present, nothing
 * else. Every pending wait shares one promise however often the part asks.
 *
 * The watch starts at the first card.proxy start or card.presence — the part asks from its start,
 * so the band says whether the card is in the reader while no proxy runs (an exclusive card given
 * to no level) — and runs until the manager stops; with no `smartcard:` in the running policy it
 * lists nothing. Fail-closed: after FAILED_LISTINGS_BEFORE_RESTART listings in a row that could not
 * be had (the tool timed out, the module failed), every running proxy restarts too, journaled
 * `smartcard.presenceUnknown` — a reader the manager cannot see could hide a card pulled out — and
 * again after as many more.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { cardProxyUid } from '../../shared/smartcardPolicy';
import type { Policy } from '../../shared/policy';
import { CardPresence, type CardChange, type CardPresenceOptions } from '../smartcard/cardPresence';
import type { RequestOf } from './requests';

/** Listings in a row that could not be had before every session on the card is ended. */
export const FAILED_LISTINGS_BEFORE_RESTART = 3;

export interface CardPresenceAnswer {
  /** How many listings differed from the one before since the manager started (the first one counts). */
  seq: number;
  /** The tokens' serials in the reader now. */
  present: string[];
}

export interface CardPresenceWatchOptions {
  policy(): Policy;
  /** Every running proxy stopped and started again: every session on the card ends. */
  restart(): Promise<unknown>;
  /**
   * Root's folder for the listing's execute-only tool (cardPresence.ts toolDir; made 0711 here), on a
   * file system that allows exec (the state folder: /run is often noexec): the listing runs as the
   * first level's proxy uid, which that proxy could otherwise trace.
   */
  toolDir?: string;
  /** The manager's journal: a restart for listings that failed is recorded there. */
  journal?: { append(kind: string, actor: string, fields: Record<string, string | number>): unknown };
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Tests: a faster poll. */
  intervalMs?: number;
}

export class CardPresenceWatch {
  private seq = 0;
  private present: string[] | null = null;
  private next: { promise: Promise<CardPresenceAnswer>; resolve: (a: CardPresenceAnswer) => void } | null = null;
  private watch: CardPresence | null = null;
  private stopped = false;
  private failedInARow = 0;

  constructor(private readonly options: CardPresenceWatchOptions) {}

  /** Starts the watch once (the manager's card in use). */
  ensure(): void {
    if (this.watch || this.stopped) return;
    const options: CardPresenceOptions = {
      settings: () => {
        const card = this.options.policy().smartcard;
        const first = Object.keys(card?.levels ?? {})[0];
        return card && first !== undefined ? { modulePath: card.module, environment: card.environment, uid: cardProxyUid(card, first) } : null;
      },
      ...(this.options.toolDir && this.toolFolder(this.options.toolDir) ? { toolDir: this.options.toolDir } : {}),
      change: (change) => void this.changed(change),
      outcome: (listed) => void this.listingOutcome(listed),
      ...(this.options.intervalMs !== undefined ? { intervalMs: this.options.intervalMs } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    };
    this.watch = new CardPresence(options);
    this.watch.start();
  }

  /** card.presence's executor. */
  readonly wait = (req: RequestOf<'card.presence'>): Promise<CardPresenceAnswer> => {
    this.ensure();
    if (this.present !== null && req.after !== this.seq) return Promise.resolve(this.answer());
    if (!this.next) {
      let resolve!: (a: CardPresenceAnswer) => void;
      const promise = new Promise<CardPresenceAnswer>((r) => (resolve = r));
      this.next = { promise, resolve };
    }
    return this.next.promise;
  };

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = null;
  }

  /**
   * The tool's folder made (0711), and reachable by the proxy uid: every folder above it searchable
   * by others (the unit's StateDirectoryMode=0711). Not so (a state folder made 0700 by hand), the
   * listing keeps the installed tool, said in the log, rather than failing every listing.
   */
  private toolFolder(dir: string): boolean {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    for (let at = dir; ; at = dirname(at)) {
      if ((statSync(at).mode & 0o001) === 0) {
        this.options.log?.('card presence: the listing tool\'s folder is not reachable by the proxy uid; the installed tool lists, which that uid may trace', { folder: at });
        return false;
      }
      if (dirname(at) === at) return true;
    }
  }

  private async listingOutcome(listed: boolean): Promise<void> {
    this.failedInARow = listed ? 0 : this.failedInARow + 1;
    const failedInARow = this.failedInARow;
    if (failedInARow === 0 || failedInARow % FAILED_LISTINGS_BEFORE_RESTART !== 0) return;
    this.options.log?.('the reader could not be listed: every card proxy restarts', { failedInARow });
    const restarted = await this.options.restart().catch((err: Error) => {
      this.options.log?.('card proxies not restarted after failed listings', { error: err.message });
      return [];
    });
    this.options.journal?.append('smartcard.presenceUnknown', 'supervisor', { failedInARow, restarted: Array.isArray(restarted) ? restarted.join(',') : '' });
  }

  private async changed(change: CardChange): Promise<void> {
    // The sessions end first, whatever the part does with the answer.
    if (this.present !== null && (change.removed.length > 0 || change.inserted.length > 0)) {
      this.options.log?.('the card changed in the reader: every card proxy restarts', { removed: change.removed.length, inserted: change.inserted.length });
      await this.options.restart().catch((err: Error) => this.options.log?.('card proxies not restarted after the card changed', { error: err.message }));
    }
    this.present = change.present;
    this.seq++;
    const waiting = this.next;
    this.next = null;
    waiting?.resolve(this.answer());
  }

  private answer(): CardPresenceAnswer {
    return { seq: this.seq, present: [...(this.present ?? [])] };
  }
}
