/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`,
 * cageManager/policyReloadThroughManager.test.ts): the part's own running policy and reloader, and
 * the admin socket's handlers as the supervisor builds them split (admin/adminHandlers.ts with the
 * manager), a journal of its own in its state folder. At each flag file the test writes in
 * `<runDir>/../partflag`, it does one step and reports it as a marked line on its stderr
 * (managerPartPlan.ts):
 *   `start`: asks `sound.host` record for low (what the policy at start allows);
 *   `reload`: the admin socket's `policy.reload` (refused: only the manager's SIGHUP reloads), then
 *             the same ask again, as a compromised part would;
 *   `flood`: 40 `policy.reload` asked of the manager at once (each refused, nothing read).
 * At each SIGHUP (the manager passes its own on), it reloads as cloisonPartMain.ts does and reports
 * `sighup` with the outcome and the microphone it then allows.
 * The handlers' other dependencies are not reached (status, lock, training).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CloisonError } from '../../shared/errors';
import { adminHandlers, type AdminHandlerDeps } from '../admin/adminHandlers';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';
import { policyFromManager } from '../cageManager/policyTextFromManager';
import { PolicyReloader, type ReloadOutcome } from '../policy/policyReloader';
import { RunningPolicy } from '../policy/runningPolicy';
import { PART_REPORT_MARK } from './managerPartPlan';

const { managerSocket, runDir, partStateDir, policyFile } = restrictCloisonPart() as { managerSocket: string; runDir: string; partStateDir: string; policyFile: string };
managerChannel().send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => process.stderr.write(`${PART_REPORT_MARK}${JSON.stringify({ step, ...fields })}\n`);
const client = await CageManagerClient.connectOnceListening(managerSocket);

// The part's one reading: the manager's text (policy.current), as cloisonPartMain.ts and partSides.ts take it.
const { policy, text } = await policyFromManager(client, policyFile);
const store = new RunningPolicy(policy, text, policyFile, () => policyFromManager(client, policyFile));
const journalFile = join(partStateDir, 'audit.jsonl');
const journal = new FileAuditJournal(journalFile);
const reloader = new PolicyReloader({ store, journal, apply: async () => undefined });
const unused = {} as never;
const handlers = adminHandlers({
  policy: store,
  since: new Date().toISOString(),
  cages: new Map(),
  devices: unused,
  lock: unused,
  tunnels: () => [],
  journal,
  training: unused,
  reload: () => reloader.reload(),
  // As supervisor.ts gives it when it is the cloison part.
  manager: { client },
} satisfies AdminHandlerDeps);

const ask = (request: Parameters<CageManagerClient['request']>[0]) =>
  client.request(request).then(
    (r) => ({ ok: true, result: r }),
    (err: unknown) => ({ ok: false, code: (err as CloisonError).code ?? null, error: (err as Error).message.slice(0, 200) }),
  );
const recordSound = () => ask({ op: 'sound.host', level: 'low', direction: 'record', action: 'start' });
// Short: the manager cuts a long line of its part's stderr.
const short = (o: { decision: string; reason?: string }) => ({ decision: o.decision, ...(o.reason ? { reason: o.reason.slice(0, 300) } : {}) });
const journaled = () =>
  readFileSync(journalFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; actor: string; decision: string; reason?: string }).filter((r) => r.kind === 'policy.reload').map((r) => ({ actor: r.actor, ...short(r) }));

const flags = join(dirname(runDir), 'partflag');
const flagged = async (name: string) => {
  while (!existsSync(join(flags, name))) await new Promise((r) => setTimeout(r, 50));
};

process.on('SIGHUP', () => {
  void reloader.reload().then((outcome) => report('sighup', { outcome: short(outcome), microphone: store.current().audio.microphone }));
});
report('start', { sound: await recordSound() });
await flagged('reload');
// After the administrator's SIGHUP to the manager: the admin socket's reload (as an older command asks) is refused; the sound the new policy took away is asked again.
const reloaded = (await handlers['policy.reload']({})) as ReloadOutcome;
report('reload', { outcome: short(reloaded), microphone: store.current().audio.microphone, sound: await recordSound(), journal: journaled() });
await flagged('flood');
const answers = await Promise.all(Array.from({ length: 40 }, () => ask({ op: 'policy.reload' })));
report('flood', { answered: answers.length, accepted: answers.filter((a) => a.ok && (a as { result: { accepted?: boolean } }).result.accepted === true).length });
await new Promise(() => undefined); // the test stops the manager
