/**
 * Test tool, run as the unprivileged part is (the manager's child, the `cloison` account), for
 * cardPresenceThroughManager.test.ts: the supervisor's own SmartcardBroker, its proxies the cage
 * manager's and the reader watched through `card.presence` (remoteCardPresence.ts), as partSides.ts
 * wires them. Each view the band would show and each journal record is reported to the parent;
 * once the parent is done (goFile), the broker is closed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from '../policy/policyLoader';
import { cardProxyPaths } from '../smartcard/levelCardProxy';
import { SmartcardBroker } from '../smartcard/smartcardBroker';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { remoteCardPresence } from './remoteCardPresence';
import { handedCardSockets, remoteCardProxy } from './remoteCardProxy';
import { managerChannel } from './socketHandOver';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; goFile: string; cardDir: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });

const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = parsePolicy(start.policy, 'p.yaml');
const handed = handedCardSockets();
const broker = new SmartcardBroker({
  policy: { current: () => policy },
  dir: start.cardDir,
  cageGid: () => 0,
  record: (kind, _actor, fields) => report('record', { kind, fields }),
  remote: (level) => remoteCardProxy(client, level, handed),
  presence: remoteCardPresence(client),
});
broker.on('change', (view) => report('view', { view }));
await broker.start();
const watch = broker.remotePresence((msg, fields) => report('log', { msg, fields }));
watch?.start();
report('serving', { socketDir: cardProxyPaths(join(start.cardDir, 'high')).socketDir, watching: watch !== null });
while (!existsSync(start.goFile)) await new Promise((resolve) => setTimeout(resolve, 50));
watch?.stop();
await broker.close();
client.close();
channel.send({ type: 'done' });
await new Promise(() => undefined); // the parent stops it
