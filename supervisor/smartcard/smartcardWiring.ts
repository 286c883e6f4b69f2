/**
 * The smart card wired to the supervisor: a broker only where the policy gives the card to a level,
 * made before the cage fleet (each bwrap cage binds its level's card folder, made for the cage's
 * uid), its changes shown to the shells; started before the cages, stopped before them; the
 * reader watched for the card pulled out.
 */
import type { SmartcardView } from '../../shared/rpc';
import type { PolicyReader } from '../policy/policyReader';
import { bwrapUidIn } from '../cages/cageFleet';
import type { Disposables } from '../system/disposables';
import { CardPresence } from './cardPresence';
import { SmartcardBroker, type SmartcardBrokerOptions } from './smartcardBroker';

export interface SmartcardWiringOptions {
  policy: PolicyReader<'smartcard' | 'levels'>;
  runDir: string;
  record: SmartcardBrokerOptions['record'];
  show: (view: SmartcardView) => void;
  /** The trusted confirmations, which the PIN dialog is one of (made after the broker: read when asked). */
  confirmations?: SmartcardBrokerOptions['confirmations'];
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The cloison part: the proxies are the cage manager's (cageManager/remoteCardProxy.ts), the guards and the PIN dialog the part's. */
  remote?: SmartcardBrokerOptions['remote'];
  /** The cloison part: the reader watched by the cage manager (cageManager/remoteCardPresence.ts). */
  presence?: SmartcardBrokerOptions['presence'];
}

export function wireSmartcard(options: SmartcardWiringOptions): SmartcardBroker | null {
  const { policy, log } = options;
  if (!policy.current().smartcard) return null;
  const broker = new SmartcardBroker({
    policy,
    dir: `${options.runDir}-card`,
    cageGid: (level) => bwrapUidIn(policy.current().levels, level) ?? 0,
    record: options.record,
    ...(options.confirmations ? { confirmations: options.confirmations } : {}),
    ...(log ? { log } : {}),
    ...(options.remote ? { remote: options.remote } : {}),
    ...(options.presence ? { presence: options.presence } : {}),
  });
  broker.on('change', (view) => options.show(view));
  return broker;
}

/**
 * Starts the level proxies (a failure leaves the cards out, logged), then watches the reader (a
 * card pulled out ends every session), and registers their stop.
 */
export async function startSmartcard(broker: SmartcardBroker | null, disposables: Disposables, log?: (msg: string, fields?: Record<string, unknown>) => void): Promise<void> {
  if (!broker) return;
  await broker.start().catch((err: Error) => log?.('smart card unavailable: its proxies did not start', { error: err.message }));
  const presence = broker.remotePresence(log) ?? new CardPresence({ settings: () => broker.presenceSettings(), change: (change) => void broker.cardChanged(change), ...(log ? { log } : {}) });
  presence.start();
  // Registered after the cages: disposables go last started first, so the proxies stop before the cages.
  disposables.add('smart card proxies', async () => {
    presence.stop();
    await broker.close();
  });
}
