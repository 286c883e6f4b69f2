/**
 * Smart cards per level: one filtering proxy per level the policy names. Shared (the default),
 * every such level has its proxy at once and sees only its objects. Exclusive, the card is with
 * one level at a time, given and taken back from the trusted overview like the microphone: taking
 * it back stops that level's proxy, which ends every session it had (locking the workstation
 * takes it back too). The card pulled out restarts every level's proxy: every session ends.
 * Assignments, logins, refusals (function, object handle, and the object's label and id as the
 * token names them) and the card's comings and goings are journaled, never a PIN or data.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { SmartcardView } from '../../shared/rpc';
import { cardProxyUid, type SmartcardPolicy } from '../../shared/smartcardPolicy';
import { prepareCageCard, type CageCardEndpoint } from './cageCardEndpoint';
import { LevelCardProxy, type RemoteCardProxy } from './levelCardProxy';
import type { CardEvent } from './cardReplyJournal';
import type { CardChange, CardPresenceSettings } from './cardPresence';
import type { PolicyReader } from '../policy/policyReader';
import type { Confirmations } from '../confirm/confirmations';
import { TrustedPinDialog } from './trustedPinDialog';


export interface SmartcardBrokerOptions {
  /** The running policy, read when deciding; a reload calls policyChanged(). */
  policy: PolicyReader<'smartcard'>;
  /** The first hold-off after a PIN dialog with no PIN typed (trustedPinDialog.ts; default 5 s). */
  pinHoldOffMs?: number;
  /** The card's own folder (0755: the proxies' uids pass through it); one folder per level in it. */
  dir: string;
  /** Where the cages' card client is made (cardClientModule.ts; default `dir`). */
  clientParent?: string;
  cageGid: (level: string) => number;
  record: (kind: string, actor: 'user' | 'supervisor', fields: Record<string, string | number | boolean>) => void;
  /** The trusted confirmations (`pin: trusted`: the PIN dialog is one of their questions). */
  confirmations?: () => Confirmations | null;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The cloison part: each level's pkcs11proxyd is the cage manager's (levelCardProxy.ts `remote`). */
  remote?: (level: string) => RemoteCardProxy;
  /**
   * The cloison part: the reader is listed by the cage manager, which restarts its proxies itself
   * when the card changes; this watch tells the broker (cageManager/remoteCardPresence.ts).
   */
  presence?: RemotePresence;
  /** The OpenSSL pre-initialisation each proxy preloads (levelCardProxy.ts; null: none, the benchmark's reference). */
  opensslPreinit?: string | null;
  /** The workers' page-table fill each proxy preloads (levelCardProxy.ts; null: none, the benchmark's reference). */
  workerPrefault?: string | null;
  /** The workers' module initialisation each proxy preloads (levelCardProxy.ts; null: none, the benchmark's reference). */
  workerModuleInit?: string | null;
  /** Whether each guard connects to its proxy ahead of the next cage (spareProxyConnection.ts; false: the benchmark's reference). */
  connectAhead?: boolean;
  /** The guard's relay program (levelCardProxy.ts); null: the guard relays in Node (the benchmark's reference). */
  recordRelay?: string | null;
}

/** A watch of the reader made for the broker's cardChanged (the root supervisor's is cardPresence.ts). */
export type RemotePresence = (change: (change: CardChange) => void, log?: (msg: string, fields?: Record<string, unknown>) => void, active?: () => boolean) => { start(): void; stop(): void };

/** What a level's proxy is started with: a change of any of it restarts that proxy. */
function proxySettings(card: SmartcardPolicy, level: string): string {
  return JSON.stringify({ module: card.module, environment: card.environment, policy: card.levels[level], uid: cardProxyUid(card, level), pin: card.pin });
}

export class SmartcardBroker extends EventEmitter<{ change: [SmartcardView] }> {
  /**
   * One proxy per level whose cage binds a card folder: the levels the policy named at start (a
   * cage's binds are fixed when it starts). A reload may withdraw such a level's card and give it
   * back; a level it names that had no card at start waits for the next start.
   */
  private readonly proxies = new Map<string, LevelCardProxy>();
  /** Each proxy's settings as made (proxySettings). */
  private readonly settings = new Map<string, string>();
  private holder: string | null = null;
  /**
   * Every change of hands, reload and card event runs after the one before has finished: a give
   * still starting its proxy when the lock takes the card back is followed by that take (the lock
   * wins), never overtaken by it.
   */
  private queue: Promise<unknown> = Promise.resolve();
  /** Whether a token is in the reader (cardPresence.ts); null until first asked. */
  private present: boolean | null = null;
  /** `pin: trusted`: one PIN dialog at a time, for every level. */
  private readonly pinDialog: TrustedPinDialog;

  constructor(private readonly options: SmartcardBrokerOptions) {
    super();
    this.pinDialog = new TrustedPinDialog({
      confirmations: () => options.confirmations?.() ?? null,
      outcome: (level, outcome) => options.record('smartcard.pin', outcome === 'cancelled' ? 'user' : 'supervisor', { level, outcome }),
      ...(options.pinHoldOffMs !== undefined ? { firstHoldOffMs: options.pinHoldOffMs } : {}),
    });
    const card = options.policy.current().smartcard;
    for (const level of Object.keys(card?.levels ?? {})) this.proxies.set(level, this.makeProxy(card!, level));
  }

  /** The endpoint a level's cage binds (null: the policy gave that level no card at start). */
  endpoint(level: string): CageCardEndpoint | null {
    const proxy = this.proxies.get(level);
    // The cloison part's cages are the manager's: it binds their card folder itself (cageCardFolder.ts).
    if (!proxy || this.options.remote) return null;
    return prepareCageCard(proxy.options.dir, proxy.prepare(), this.options.clientParent ?? this.options.dir, this.options.log);
  }

  /** Shared: every level's proxy starts. Exclusive: none until the user gives the card. */
  async start(): Promise<void> {
    // The cloison part started again: what its previous life had the manager run stops first, so an
    // exclusive card it gave away is nobody's again, as this broker believes.
    const remote = this.options.remote;
    if (remote) for (const level of this.proxies.keys()) await remote(level).stop().catch((err: Error) => this.options.log?.('card proxy not stopped at start', { level, error: err.message }));
    if (this.card()?.exclusive !== false) return this.changed();
    for (const level of this.cardLevels()) await this.proxies.get(level)!.start();
    this.changed();
  }

  /**
   * A reloaded policy: each level whose filter, module, environment or proxy uid changed gets a
   * new proxy with the new filter (its open sessions end); a level whose card was withdrawn has
   * its proxy stopped; a level named anew without a card folder in its cage waits for the next
   * start. Journaled smartcard.policy.
   */
  policyChanged(): Promise<void> {
    return this.serially(() => this.applyPolicy());
  }

  private async applyPolicy(): Promise<void> {
    const card = this.card();
    const exclusive = card?.exclusive ?? false;
    const assigned = new Set(this.cardLevels());
    if (this.holder !== null && (!exclusive || !assigned.has(this.holder))) {
      const from = this.holder;
      this.holder = null;
      this.options.record('smartcard.assign', 'supervisor', { level: from, action: 'take' });
    }
    const restarted: string[] = [];
    const withdrawn: string[] = [];
    const failed: string[] = [];
    for (const [level, proxy] of [...this.proxies]) {
      const was = proxy.running;
      const want = assigned.has(level) && (!exclusive || this.holder === level);
      let current = proxy;
      if (assigned.has(level) && this.settings.get(level) !== proxySettings(card!, level)) {
        await proxy.stop();
        current = this.makeProxy(card!, level);
        this.proxies.set(level, current);
        if (was && want) restarted.push(level);
      }
      if (!assigned.has(level) && was) withdrawn.push(level);
      try {
        if (want) await current.start();
        else await current.stop();
      } catch (err) {
        failed.push(level);
        this.options.log?.('card proxy did not start after a policy reload', { level, error: (err as Error).message });
      }
    }
    const pending = Object.keys(card?.levels ?? {}).filter((level) => !this.proxies.has(level));
    const fields = Object.fromEntries(Object.entries({ restarted, withdrawn, failed, pending }).filter(([, l]) => l.length > 0).map(([k, l]) => [k, l.join(',')]));
    if (Object.keys(fields).length > 0) this.options.record('smartcard.policy', 'supervisor', fields);
    this.changed();
  }

  /** Exclusive mode: gives the card to a level, taking it back from another first. */
  give(level: string, actor: 'user' | 'supervisor' = 'user'): Promise<SmartcardView> {
    return this.serially(() => this.giveNow(level, actor));
  }

  /** Exclusive mode: takes the card back; the holder's sessions on it end. */
  take(actor: 'user' | 'supervisor' = 'user'): Promise<SmartcardView> {
    return this.serially(() => this.takeNow(actor));
  }

  private async giveNow(level: string, actor: 'user' | 'supervisor'): Promise<SmartcardView> {
    if (!this.card()?.exclusive) throw new CloisonError('WRONG_STATE', bilingual('la carte est partagée entre les niveaux : rien à attribuer', 'the card is shared between levels: nothing to assign'));
    const proxy = this.cardLevels().includes(level) ? this.proxies.get(level) : undefined;
    if (!proxy) throw new CloisonError('POLICY_DENIED', bilingual(`la politique ne donne pas la carte au niveau « ${level} »`, `the policy does not let level "${level}" have the card`));
    if (this.holder === level) return this.view();
    if (this.holder !== null) await this.takeNow(actor);
    await proxy.start();
    this.holder = level;
    this.options.record('smartcard.assign', actor, { level, action: 'give' });
    this.changed();
    return this.view();
  }

  private async takeNow(actor: 'user' | 'supervisor'): Promise<SmartcardView> {
    const from = this.holder;
    if (from === null) return this.view();
    this.holder = null;
    await this.proxies.get(from)?.stop();
    this.options.record('smartcard.assign', actor, { level: from, action: 'take' });
    this.changed();
    return this.view();
  }

  /**
   * The card pulled out, inserted, or swapped (cardPresence.ts): every serving proxy restarts, so
   * every session and login any level had on the card ends — a session logged in before the card
   * was pulled never signs again, even once it is back. Journaled smartcard.removed / inserted.
   */
  cardChanged(change: CardChange): Promise<void> {
    return this.serially(async () => {
      const wasPresent = this.present;
      this.present = change.present.length > 0;
      const ended: string[] = [];
      if (change.removed.length > 0 || change.inserted.length > 0) {
        for (const [level, proxy] of this.proxies) {
          if (!proxy.running) continue;
          await proxy.stop();
          ended.push(level);
          await proxy.start().catch((err: Error) => this.options.log?.('card proxy did not restart after the card changed', { level, error: err.message }));
        }
      }
      for (const token of change.removed) this.options.record('smartcard.removed', 'supervisor', { token, ...(ended.length > 0 ? { levels: ended.join(',') } : {}) });
      for (const token of change.inserted) this.options.record('smartcard.inserted', 'supervisor', { token });
      if (wasPresent !== this.present || ended.length > 0) this.changed();
    });
  }

  /** The reader's watch through the cage manager (the cloison part's), or null: the broker's own (presenceSettings). */
  remotePresence(log?: (msg: string, fields?: Record<string, unknown>) => void): { start(): void; stop(): void } | null {
    return this.options.presence?.((change) => void this.cardChanged(change), log, () => this.card() !== undefined) ?? null;
  }

  /** What the presence watcher asks the module with: the policy's module, as the first level's proxy uid. */
  presenceSettings(): CardPresenceSettings | null {
    const card = this.card();
    const first = this.cardLevels()[0];
    // The cloison part cannot load the module as the proxy's uid (setpriv): the manager lists the reader (remotePresence).
    if (!card || first === undefined || this.options.remote) return null;
    return { modulePath: card.module, environment: card.environment, uid: cardProxyUid(card, first) };
  }

  /** The PIN the user typed in the trusted dialog for question `id` (`smartcard.pin`). */
  pinTyped(id: string, pin: string): void {
    this.pinDialog.typed(id, pin);
  }

  view(): SmartcardView {
    return {
      exclusive: this.card()?.exclusive ?? false,
      holder: this.holder,
      ...(this.present !== null ? { present: this.present } : {}),
      levels: this.cardLevels().map((level) => ({ level, serving: this.proxies.get(level)!.running })),
    };
  }

  close(): Promise<void> {
    return this.serially(async () => {
      this.holder = null;
      for (const proxy of this.proxies.values()) await proxy.stop();
    });
  }

  /** Runs `step` once every step queued before it has settled (failed or not). */
  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private card(): SmartcardPolicy | undefined {
    return this.options.policy.current().smartcard;
  }

  /** The levels that have the card now: named by the running policy, with a card folder in their cage. */
  private cardLevels(): string[] {
    return Object.keys(this.card()?.levels ?? {}).filter((level) => this.proxies.has(level));
  }

  private makeProxy(card: SmartcardPolicy, level: string): LevelCardProxy {
    const { options } = this;
    this.settings.set(level, proxySettings(card, level));
    return new LevelCardProxy({
      level,
      modulePath: card.module,
      policy: card.levels[level]!,
      proxyUid: cardProxyUid(card, level),
      cageGid: () => options.cageGid(level),
      dir: join(options.dir, level),
      environment: card.environment,
      event: (event) => this.journal(level, event),
      ...(card.pin === 'trusted' ? { askPin: (application: string, gone: AbortSignal) => this.pinDialog.ask(level, application, gone) } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.remote ? { remote: options.remote(level) } : {}),
      ...(options.opensslPreinit !== undefined ? { opensslPreinit: options.opensslPreinit } : {}),
      ...(options.workerPrefault !== undefined ? { workerPrefault: options.workerPrefault } : {}),
      ...(options.workerModuleInit !== undefined ? { workerModuleInit: options.workerModuleInit } : {}),
      ...(options.recordRelay !== undefined ? { recordRelay: options.recordRelay } : {}),
      ...(options.connectAhead !== undefined ? { connectAhead: options.connectAhead } : {}),
    });
  }

  private journal(level: string, event: CardEvent): void {
    if (event.kind === 'login') this.options.record('smartcard.login', 'supervisor', { level, ok: event.ok });
    else {
      // The object's label and id as the token gave them (cardObjectNames.ts); the forwarded copy
      // carries them as a keyed fingerprint and a length, like every text not the supervisor's own.
      const object = { ...(event.object?.label !== undefined ? { label: event.object.label } : {}), ...(event.object?.id !== undefined ? { id: event.object.id } : {}) };
      this.options.record('smartcard.refused', 'supervisor', { level, function: event.function, ...(event.handle !== null ? { handle: event.handle } : {}), ...object, reason: event.reason });
    }
  }

  private changed(): void {
    this.emit('change', this.view());
  }
}
