/**
 * Test tool, run as the unprivileged part is (the manager's child, the `cloison` account), for
 * xhelperStop.test.ts. `dispose`: the supervisor's clipboard (XCageClipboards over remoteXTools.ts)
 * pastes into both selections of the level's cage, reads them back through the manager, waits for
 * the parent's go (a file it makes once it has looked in the cage), then is disposed and reads them again until the paste is gone (or 50 reads). `attack`: as a compromised
 * part, serves high's PRIMARY and low's CLIPBOARD through raw requests, then asks `xhelper.stop`
 * of high's xclip naming low, of low's naming high, and of a connection never answered; it reads
 * both selections again through the manager.
 */
import { existsSync } from 'node:fs';
import type { CloisonError } from '../../shared/errors';
import { XCageClipboards } from '../clipboard/cageClipboards';
import type { ReadResult, XSelectionName } from '../clipboard/xSelection';
import { parsePolicy } from '../policy/policyLoader';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { remoteCageXTools } from './remoteXTools';
import { HandedSockets, managerChannel, SELECTION_INPUT_MESSAGE } from './socketHandOver';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; mode: 'dispose' | 'attack'; goFile: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });
const outcome = (p: Promise<unknown>) => p.then((result) => ({ ok: true, result }), (err: unknown) => ({ ok: false, error: (err as Error).message, code: (err as CloisonError).code ?? null }));
const shown = (r: ReadResult) => (r.kind === 'text' ? r.bytes.toString('utf8') : r.kind);

const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = parsePolicy(start.policy, 'p.yaml');
const handed = new HandedSockets(10_000, SELECTION_INPUT_MESSAGE);
// The part's fleet: both levels' cages run (the test's manager puts both on one X server).
const tools = remoteCageXTools({ client, policy: () => policy, isRunning: () => true, handed });
const both = async (level: string) => ({ clipboard: shown(await tools.readSelection(level, 4096, 'clipboard')), primary: shown(await tools.readSelection(level, 4096, 'primary')) });

if (start.mode === 'dispose') {
  const clipboards = new XCageClipboards(() => undefined, () => true, tools);
  await clipboards.write('low', 'collé puis retiré');
  report('pasted', await both('low'));
  // The parent looks in the cage, then makes goFile: only then is the clipboard disposed.
  while (!existsSync(start.goFile)) await new Promise((resolve) => setTimeout(resolve, 50));
  clipboards.dispose();
  let after = await both('low');
  for (let i = 0; i < 50 && (after.clipboard !== 'empty' || after.primary !== 'empty'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await both('low');
  }
  report('disposed', after);
} else {
  const serve = async (level: string, selection: XSelectionName, text: string) => {
    const { connection } = (await client.request({ op: 'xhelper.run', level, program: 'xclip', args: ['-selection', selection, '-i', '-t', 'UTF8_STRING', '-quiet'] })) as { connection: number };
    (await handed.take(connection)).end(text);
    return connection;
  };
  const high = await serve('high', 'primary', 'servi pour high');
  const low = await serve('low', 'clipboard', 'servi pour low');
  await new Promise((resolve) => setTimeout(resolve, 500)); // both xclips own their selection
  report('served', { high, low, ...(await both('low')) });
  report('stops', {
    highNamingLow: await outcome(client.request({ op: 'xhelper.stop', level: 'low', connection: high })),
    lowNamingHigh: await outcome(client.request({ op: 'xhelper.stop', level: 'high', connection: low })),
    never: await outcome(client.request({ op: 'xhelper.stop', level: 'low', connection: 4242 })),
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  report('after', await both('low'));
}
client.close();
channel.send({ type: 'done' });
await new Promise(() => undefined); // the parent stops it
