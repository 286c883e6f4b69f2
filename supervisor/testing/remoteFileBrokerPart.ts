/**
 * Test tool, run as the unprivileged part is (the `cloison` account, restricted): the file broker
 * with the cages' homes reached through the cage manager (remoteCageHomes.ts, as supervisor.ts
 * wires it when `manager` is set). Lists low's outbox, transfers files into high (one cancelled
 * as it is read), asks for what a hostile shell would ask (paths leaving the home, a link to
 * /etc/shadow), writes into high's inbox more than the helper may stage, then a small file on the
 * same channel; reports each answer to the parent.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { wireRemoteCageHomes } from '../cageManager/remoteCageHomes';
import { managerChannel } from '../cageManager/socketHandOver';
import { Confirmations } from '../confirm/confirmations';
import { EncryptingDiode } from '../files/encryptingDiode';
import { FileBroker } from '../files/fileBroker';
import { parsePolicy } from '../policy/policyLoader';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; workDir: string; hostile: string[]; oversize: number };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });

async function attempt(step: string, act: () => Promise<unknown>): Promise<void> {
  try {
    report(step, { result: await act() });
  } catch (err) {
    report(step, { error: (err as Error).message, code: (err as { code?: string }).code });
  }
}

const policy = parsePolicy(start.policy, 'p.yaml');
const reader = { current: () => policy };
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const homes = wireRemoteCageHomes({ client }, reader);
const journal = new FileAuditJournal(join(start.workDir, 'audit.jsonl'));
let cancelOnProgress = false;
const files: FileBroker = new FileBroker({
  policy: reader,
  homes,
  confirmations: new Confirmations({ publish: () => undefined, settle: () => undefined }),
  journal,
  stagingDir: join(start.workDir, 'staging'),
  diode: new EncryptingDiode(join(start.workDir, 'diode'), 'test'),
  // The user's cancel, as the first bytes are read: the read's channel is closed under it.
  onProgress: () => {
    if (cancelOnProgress) files.cancel();
  },
});

report('whoami', { uid: process.getuid!() });
await attempt('clean partials', () => files.cleanPartials());
await attempt('list outbox', () => files.list('low', 'Outbox'));
await attempt('transfer', () => files.transfer('low', 'high', ['Outbox/report.txt', 'Outbox/long.txt']));
cancelOnProgress = true;
await attempt('cancelled transfer', () => files.transfer('low', 'high', ['Outbox/long.txt']));
cancelOnProgress = false;
await attempt('transfer after the cancel', () => files.transfer('low', 'high', ['Outbox/report.txt']));
await attempt('hostile transfer', () => files.transfer('low', 'high', start.hostile));
await attempt('list above the home', () => files.list('low', '..'));

// A write into high's inbox larger than a helper there may stage, then a small one on the same channel.
async function write(name: string, bytes: Buffer) {
  const staged = join(start.workDir, name);
  writeFileSync(staged, bytes);
  const writing = homes.of('high')!.write('Incoming/low', name, staged, bytes.length);
  const whole = await writing.staged;
  writing.commit(whole);
  return { staged: whole, ...(await writing.exited) };
}
await attempt('oversize write', () => write('big.bin', Buffer.alloc(start.oversize, 0x61)));
await attempt('small write after it', () => write('small.txt', Buffer.from('still served\n')));
// The level's channel closed (its cage went down), then asked again at the next act.
homes.forget('high');
await attempt('list after forget', () => files.list('high', 'Incoming/low'));
homes.close();
journal.close();
channel.send({ type: 'done' });
