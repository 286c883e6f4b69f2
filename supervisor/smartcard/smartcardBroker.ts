/**
 * Smart cards per level: one filtering proxy per level the policy names. Shared (the default),
 * every such level has its proxy at once and sees only its objects. Exclusive, the card is with
 * one level at a time, given and taken back from the trusted overview like the microphone: taking
 * it back stops that level's proxy, which ends every session it had (locking the workstation
 * takes it back too). Assignments, logins and refusals (function, object handle) are journaled,
 * never a PIN or data.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { SmartcardView } from '../../shared/rpc';
import { cardProxyUid, type SmartcardPolicy } from '../../shared/smartcardPolicy';
import { prepareCageCard, type CageCardEndpoint } from './cageCardEndpoint';
import { LevelCardProxy } from './levelCardProxy';
import type { CardEvent } from './cardReplyJournal';


export interface SmartcardBrokerOptions {
  policy: SmartcardPolicy;
  /** The card's own folder (0755: the proxies' uids pass through it); one folder per level in it. */
  dir: string;
  cageGid: (level: string) => number;
  record: (kind: string, actor: 'user' | 'supervisor', fields: Record<string, string | number | boolean>) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class SmartcardBroker extends EventEmitter<{ change: [SmartcardView] }> {
  private readonly proxies = new Map<string, LevelCardProxy>();
  private holder: string | null = null;

  constructor(private readonly options: SmartcardBrokerOptions) {
    super();
    const { policy, dir } = options;
    for (const [level, levelPolicy] of Object.entries(policy.levels)) {
      this.proxies.set(level, new LevelCardProxy({
        level,
        modulePath: policy.module,
        policy: levelPolicy,
        proxyUid: cardProxyUid(policy, level),
        cageGid: () => options.cageGid(level),
        dir: join(dir, level),
        environment: policy.environment,
        event: (event) => this.journal(level, event),
        ...(options.log ? { log: options.log } : {}),
      }));
    }
  }

  /** The endpoint a level's cage binds (null: the policy gives that level no card). */
  endpoint(level: string): CageCardEndpoint | null {
    const proxy = this.proxies.get(level);
    if (!proxy) return null;
    return prepareCageCard(proxy.options.dir, proxy.prepare());
  }

  /** Shared: every level's proxy starts. Exclusive: none until the user gives the card. */
  async start(): Promise<void> {
    if (this.options.policy.exclusive) return this.changed();
    for (const proxy of this.proxies.values()) await proxy.start();
    this.changed();
  }

  /** Exclusive mode: gives the card to a level, taking it back from another first. */
  async give(level: string, actor: 'user' | 'supervisor' = 'user'): Promise<SmartcardView> {
    if (!this.options.policy.exclusive) throw new CloisonError('WRONG_STATE', bilingual('la carte est partagée entre les niveaux : rien à attribuer', 'the card is shared between levels: nothing to assign'));
    const proxy = this.proxies.get(level);
    if (!proxy) throw new CloisonError('POLICY_DENIED', bilingual(`la politique ne donne pas la carte au niveau « ${level} »`, `the policy does not let level "${level}" have the card`));
    if (this.holder === level) return this.view();
    if (this.holder !== null) await this.take(actor);
    await proxy.start();
    this.holder = level;
    this.options.record('smartcard.assign', actor, { level, action: 'give' });
    this.changed();
    return this.view();
  }

  /** Exclusive mode: takes the card back; the holder's sessions on it end. */
  async take(actor: 'user' | 'supervisor' = 'user'): Promise<SmartcardView> {
    const from = this.holder;
    if (from === null) return this.view();
    this.holder = null;
    await this.proxies.get(from)?.stop();
    this.options.record('smartcard.assign', actor, { level: from, action: 'take' });
    this.changed();
    return this.view();
  }

  view(): SmartcardView {
    return {
      exclusive: this.options.policy.exclusive,
      holder: this.holder,
      levels: [...this.proxies].map(([level, proxy]) => ({ level, serving: proxy.running })),
    };
  }

  async close(): Promise<void> {
    this.holder = null;
    for (const proxy of this.proxies.values()) await proxy.stop();
  }

  private journal(level: string, event: CardEvent): void {
    if (event.kind === 'login') this.options.record('smartcard.login', 'supervisor', { level, ok: event.ok });
    else this.options.record('smartcard.refused', 'supervisor', { level, function: event.function, ...(event.handle !== null ? { handle: event.handle } : {}), reason: event.reason });
  }

  private changed(): void {
    this.emit('change', this.view());
  }
}
