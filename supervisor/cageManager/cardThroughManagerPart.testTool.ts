/**
 * Test tool, run as the unprivileged part is (the manager's child, the `cloison` account), for
 * cardThroughManager.test.ts. `serve`: the supervisor's own SmartcardBroker, its proxies the cage
 * manager's (levelCardProxy.ts `remote`), started; the part's guards listen in the part's card
 * folder; once the parent has used the card through them (goFile), the broker is closed. `attack`:
 * as a compromised part, raw requests: low's proxy (the policy gives low no card), high's with a
 * filter and a module path of the part's, a card connection for low and one for high's proxy while
 * it is stopped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cardProxyPaths } from '../smartcard/levelCardProxy';
import type { CloisonError } from '../../shared/errors';
import { parsePolicy } from '../policy/policyLoader';
import { SmartcardBroker } from '../smartcard/smartcardBroker';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { handedCardSockets, remoteCardProxy } from './remoteCardProxy';
import { managerChannel } from './socketHandOver';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; mode: 'serve' | 'attack' | 'exclusive' | 'give' | 'restart' | 'reload'; goFile: string; cardDir: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });
const outcome = (p: Promise<unknown>) => p.then((result) => ({ ok: true, result }), (err: unknown) => ({ ok: false, error: (err as Error).message, code: (err as CloisonError).code ?? null }));

const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = parsePolicy(start.policy, 'p.yaml');
const handed = handedCardSockets();

if (start.mode === 'serve') {
  const records: Array<{ kind: string; fields: Record<string, unknown> }> = [];
  const broker = new SmartcardBroker({
    policy: { current: () => policy },
    dir: start.cardDir,
    cageGid: () => 0,
    record: (kind, _actor, fields) => records.push({ kind, fields }),
    remote: (level) => {
      const remote = remoteCardProxy(client, level, handed);
      // What each cage connection got from the manager, for the parent's diagnosis.
      return { ...remote, connect: () => remote.connect().then((s) => (report('connected', { level }), s), (err: Error) => (report('connectFailed', { level, error: err.message }), Promise.reject(err))) };
    },
  });
  await broker.start();
  report('serving', { socketDir: cardProxyPaths(join(start.cardDir, 'high')).socketDir, endpoint: broker.endpoint('high') });
  while (!existsSync(start.goFile)) await new Promise((resolve) => setTimeout(resolve, 50));
  report('journal', { records });
  await broker.close();
  report('closed', {});
} else if (start.mode === 'give' || start.mode === 'restart') {
  // give: the user gives high the exclusive card, then this part ends without closing its broker
  // (a crash); restart: the part started again, its broker started afresh (nobody has the card).
  const broker = new SmartcardBroker({ policy: { current: () => policy }, dir: start.cardDir, cageGid: () => 0, record: () => undefined, remote: (level) => remoteCardProxy(client, level, handed) });
  await broker.start();
  if (start.mode === 'give') await broker.give('high');
  report(start.mode, { holder: broker.view().holder ?? null });
} else if (start.mode === 'reload') {
  // As a compromised part: high's proxy started, then, the policy narrowed by a reload, a card
  // connection asked of the old proxy without starting it again.
  report('started', { high: await outcome(client.request({ op: 'card.proxy', level: 'high', action: 'start' })) });
  while (!existsSync(start.goFile)) await new Promise((resolve) => setTimeout(resolve, 50));
  report('afterReload', { socket: await outcome(client.request({ op: 'card.socket', level: 'high' })) });
} else if (start.mode === 'exclusive') {
  // The manager's policy gives both levels the card, exclusively: high has it, low asks too.
  const highStarted = await outcome(client.request({ op: 'card.proxy', level: 'high', action: 'start' }));
  const lowWhileHigh = await outcome(client.request({ op: 'card.proxy', level: 'low', action: 'start' }));
  const highStopped = await outcome(client.request({ op: 'card.proxy', level: 'high', action: 'stop' }));
  const lowAfter = await outcome(client.request({ op: 'card.proxy', level: 'low', action: 'start' }));
  const lowStopped = await outcome(client.request({ op: 'card.proxy', level: 'low', action: 'stop' }));
  report('exclusive', { highStarted, lowWhileHigh, highStopped, lowAfter, lowStopped });
} else {
  report('attacks', {
    lowProxy: await outcome(client.request({ op: 'card.proxy', level: 'low', action: 'start' })),
    ownFilter: await outcome(client.request({ op: 'card.proxy', level: 'high', action: 'start', filter: 'forbidden_mechanisms = []', module: '/tmp/evil.so' } as never)),
    lowSocket: await outcome(client.request({ op: 'card.socket', level: 'low' })),
    highStopped: await outcome(client.request({ op: 'card.socket', level: 'high' })),
  });
}
client.close();
channel.send({ type: 'done' });
await new Promise(() => undefined); // the parent stops it
