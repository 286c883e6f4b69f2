/**
 * Test tool, run as the `cloison` part (restricted with the sandboxing filter,
 * cloisonPartSandboxing.ts): the file broker with the cages' homes reached through the cage
 * manager (remoteCageHomes.ts), its staging in the part's folder. Transfers a scripted PDF up
 * (the policy's `convert`: the user accepts its pages) and two files down through the policy's
 * scanner (one clean, one marked); reports each answer and the question the user saw.
 */
import { join } from 'node:path';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { wireRemoteCageHomes } from '../cageManager/remoteCageHomes';
import { managerChannel } from '../cageManager/socketHandOver';
import { Confirmations } from '../confirm/confirmations';
import { EncryptingDiode } from '../files/encryptingDiode';
import { FileBroker } from '../files/fileBroker';
import { parsePolicy } from '../policy/policyLoader';
import { restrictCloisonPartForSandboxes } from './cloisonPartSandboxing';

const start = restrictCloisonPartForSandboxes<{ managerSocket: string; policy: string; workDir: string }>();
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });

async function attempt(step: string, act: () => Promise<unknown>): Promise<void> {
  try {
    report(step, { result: await act() });
  } catch (err) {
    report(step, { error: (err as Error).message });
  }
}

const policy = parsePolicy(start.policy, 'p.yaml');
const reader = { current: () => policy };
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const homes = wireRemoteCageHomes({ client }, reader);
const journal = new FileAuditJournal(join(start.workDir, 'audit.jsonl'));
const questions: unknown[] = [];
// The user accepts what the dialog shows (the converted pages).
const confirmations: Confirmations = new Confirmations({
  publish: (request) => {
    questions.push(request);
    setImmediate(() => confirmations.answer(request.id, 'accepted'));
  },
  settle: () => undefined,
});
const files = new FileBroker({
  policy: reader,
  homes,
  confirmations,
  journal,
  stagingDir: join(start.workDir, 'staging'),
  diode: new EncryptingDiode(join(start.workDir, 'diode'), 'test'),
});

await attempt('convert up', () => files.transfer('low', 'high', ['Outbox/invoice.pdf']));
report('question', { questions });
await attempt('scan down', () => files.transfer('high', 'low', ['Outbox/clean.txt', 'Outbox/marked.txt'], 'the minutes, declassified by the meeting'));
homes.close();
journal.close();
channel.send({ type: 'done' });
