/**
 * The manager's side of `card.proxy` and `card.socket`: the smart card when the supervisor is the
 * cloison part. What needs root stays here — the level's pkcs11proxyd (Caml Crush) run as the
 * level's proxy uid (setpriv, a control group of its own), its filter and module written from the
 * running policy's `smartcard:` section, never from the request — and the part gets only
 * connections to that proxy, one per cage connection, as descriptors (card.socket). The part keeps
 * what needs no root: the record guard between the cage and these connections, the trusted PIN
 * dialog, the journal of refusals (smartcard/recordGuard.ts, trustedPinLogin.ts).
 *
 * The request names a level and start or stop, nothing else: no module, filter, uid or path
 * crosses. A level the policy gives no card is refused; under `exclusive` a second level's proxy
 * is refused while another runs (the part must take the card back first), so a compromised part
 * cannot hand the card to two levels at once. A reload stops, here and at once, every proxy whose
 * level lost the card or whose settings changed, and under a policy made `exclusive` every proxy
 * when more than one runs (policyReloaded): `card.socket` is refused for a withdrawn level before
 * it could stop anything, and connections handed out before the reload are the proxy's to end.
 * The part starts again what the new policy allows (its policyChanged).
 */
import { join } from 'node:path';
import { CloisonError } from '../../shared/errors';
import type { Policy } from '../../shared/policy';
import { cardProxyUid, type SmartcardPolicy } from '../../shared/smartcardPolicy';
import { LevelCardProxy } from '../smartcard/levelCardProxy';
import { refused } from './openedExactly';
import { CARD_SOCKET_MESSAGE, handOverSocket, type HandedSocket, type PartEnd } from './socketHandOver';
import type { RequestOf } from './requests';

export { CARD_SOCKET_MESSAGE };

/** The message a card connection arrives with on the part's channel (socketHandOver.ts's HandedSockets). */
export type HandedCardSocket = HandedSocket & { type: typeof CARD_SOCKET_MESSAGE };

export interface CardProxyExecutorOptions {
  policy(): Policy;
  /** The manager's card folder (one folder per level in it, root's; the proxy uid passes through). */
  dir: string;
  part(): PartEnd | null;
  /**
   * Makes the level's socket folder the part's guard listens in (cageCardFolder.ts): the card
   * starts before the cages, whose start makes it too.
   */
  cardFolder?: (level: string) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The manager's journal: a proxy a reload stopped is recorded there. */
  journal?: { append(kind: string, actor: string, fields: Record<string, string>): unknown };
}

/** Why a reload stopped a level's proxy. */
export type ReloadStop = 'withdrawn' | 'changed' | 'exclusive';

/** What a level's proxy was started with: a change restarts it at the next start. */
function settingsOf(card: SmartcardPolicy, level: string): string {
  return JSON.stringify({ module: card.module, environment: card.environment, policy: card.levels[level], uid: cardProxyUid(card, level) });
}

export class CardProxies {
  private readonly proxies = new Map<string, { proxy: LevelCardProxy; settings: string }>();
  /** One request at a time for every level: an exclusive card's check and start are one step. */
  private queue: Promise<unknown> = Promise.resolve();
  private next = 1;

  constructor(private readonly options: CardProxyExecutorOptions) {}

  /** card.proxy's executor. */
  readonly proxy = (req: RequestOf<'card.proxy'>): Promise<{ running: boolean }> => {
    const run = this.queue.then(() => (req.action === 'start' ? this.start(req.level) : this.stop(req.level)));
    this.queue = run.catch(() => undefined);
    return run;
  };

  /** card.socket's executor: a connection to the level's running proxy, handed to the part. */
  readonly socket = async (req: RequestOf<'card.socket'>): Promise<{ connection: number }> => {
    const entry = this.proxies.get(req.level);
    const running = entry?.proxy;
    if (!entry || !running?.running) throw new CloisonError('WRONG_STATE', `level ${req.level}'s card proxy is not running`);
    // A reload changed the level's filter, module or uid and the part did not start it again: no
    // connection to the old filter — it is stopped, and a start makes the policy's.
    const card = this.options.policy().smartcard;
    if (!card?.levels[req.level] || entry.settings !== settingsOf(card, req.level)) {
      await this.proxy({ op: 'card.proxy', level: req.level, action: 'stop' });
      throw new CloisonError('WRONG_STATE', `level ${req.level}'s card proxy was started under another policy: stopped, start it again`);
    }
    const part = this.options.part();
    if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
    // Never by the path (the proxy uid's folder): only to a socket that uid bound and listens on.
    const socket = await running.connectProxy({ paused: true }).catch((err: Error) => {
      throw new CloisonError('INTERNAL', `the card proxy did not take a connection: ${err.message}`);
    });
    const connection = this.next++;
    // Handed over unread (every byte of the proxy's goes to the cage), the manager's copy closed.
    await handOverSocket(part, { type: CARD_SOCKET_MESSAGE, level: req.level, connection }, socket).catch((err: Error) => {
      socket.destroy();
      throw new CloisonError('INTERNAL', `the unprivileged part did not take the card connection: ${err.message}`);
    });
    return { connection };
  };

  /**
   * The card pulled out, put back or swapped (cardPresenceWatch.ts): every running proxy stopped and
   * started again, in the request queue, so every session any level had on the card ends whether or
   * not the part ever asks. A start the running policy no longer allows leaves that proxy stopped.
   */
  restartRunning(): Promise<string[]> {
    const run = this.queue.then(async () => {
      const restarted: string[] = [];
      for (const [level, entry] of this.proxies) {
        if (!entry.proxy.running) continue;
        await entry.proxy.stop();
        restarted.push(level);
        await this.start(level).catch((err: Error) => this.options.log?.('card proxy not started again after the card changed', { level, error: err.message }));
      }
      return restarted;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The policy was read again: every running proxy the new one no longer allows stopped, in the
   * request queue, each journaled `smartcard.proxyStopped` with why. Under `exclusive` with more
   * than one running, none is the holder (under the shared policy no level held the card, as the
   * part's broker also concludes), so all stop; a lone one under `exclusive` keeps running.
   */
  policyReloaded(): Promise<Array<{ level: string; why: ReloadStop }>> {
    const run = this.queue.then(async () => {
      const card = this.options.policy().smartcard;
      const running = [...this.proxies].filter(([, e]) => e.proxy.running);
      const stops: Array<{ level: string; why: ReloadStop }> = [];
      for (const [level, entry] of running) {
        const why: ReloadStop | null = !card?.levels[level] ? 'withdrawn' : entry.settings !== settingsOf(card, level) ? 'changed' : null;
        if (why) stops.push({ level, why });
      }
      const left = running.filter(([level]) => !stops.some((s) => s.level === level));
      if (card?.exclusive && left.length > 1) for (const [level] of left) stops.push({ level, why: 'exclusive' });
      for (const { level, why } of stops) {
        await this.proxies.get(level)!.proxy.stop().catch((err: Error) => this.options.log?.('card proxy not stopped after a reload', { level, error: err.message }));
        this.options.journal?.append('smartcard.proxyStopped', 'supervisor', { level, why });
      }
      return stops;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every proxy stopped (the manager's end, or its part's). */
  async stopAll(): Promise<void> {
    await this.queue;
    for (const level of [...this.proxies.keys()]) await this.stop(level);
  }

  private async start(level: string): Promise<{ running: boolean }> {
    const card = this.options.policy().smartcard;
    if (!card?.levels[level]) throw refused(`the policy gives level ${level} no card`);
    if (card.exclusive) {
      const other = [...this.proxies].find(([l, p]) => l !== level && p.proxy.running);
      if (other) throw refused(`the card is exclusive and level ${other[0]} has it: take it back first`);
    }
    const settings = settingsOf(card, level);
    const had = this.proxies.get(level);
    if (had && had.settings !== settings) await had.proxy.stop();
    const entry = had && had.settings === settings ? had : { proxy: this.makeProxy(card, level), settings };
    this.proxies.set(level, entry);
    this.options.cardFolder?.(level);
    await entry.proxy.start();
    return { running: true };
  }

  private async stop(level: string): Promise<{ running: boolean }> {
    await this.proxies.get(level)?.proxy.stop();
    return { running: false };
  }

  private makeProxy(card: SmartcardPolicy, level: string): LevelCardProxy {
    return new LevelCardProxy({
      level,
      modulePath: card.module,
      policy: card.levels[level]!,
      proxyUid: cardProxyUid(card, level),
      // The cage-facing folder is not this proxy's business here: the part's guard serves the cage.
      cageGid: () => 0,
      dir: join(this.options.dir, level),
      environment: card.environment,
      // The filter's refusals are read by the part's guard (cardReplyJournal.ts), not here.
      event: () => undefined,
      unguarded: true,
      ...(this.options.log ? { log: this.options.log } : {}),
    });
  }
}

