/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * the lock, the lock before sleep, the training drills and the app launcher wired as the part wires
 * them (wireManagedSessionLock, managerTrainingActs, a RemoteCageDriver under a CageLifecycle),
 * reporting each outcome to the parent on its channel. The parent answers through files it puts in
 * `goDir` (the part's channel carries nothing from it but handed sockets).
 *   - the lock: a wrong password, then — as a part restarted with its state folder emptied — the
 *     right one while the manager's wait holds, then the right one after it;
 *   - the low cage started, an app of the policy launched through the launcher, counted running,
 *     then not once the parent has ended it;
 *   - the spoof drill's look-alike shown (the parent looks for it in the cage, then says `hide`),
 *     taken down at the drill's end; the right-level drill's document put in the cage;
 *   - the lock before sleep: the parent announces a sleep once the part says it is ready; the
 *     unlock after it takes the manager's inhibitor again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Drill } from '../../shared/trainingScenario';
import type { CloisonError } from '../../shared/errors';
import { AppLauncher } from '../apps/appLauncher';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageLifecycle } from '../cages/cageLifecycle';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { RemoteCageDriver } from '../cageManager/remoteCageDriver';
import { managerRunningApps } from '../cageManager/managerAppPrograms';
import { HandedSockets, managerChannel } from '../cageManager/socketHandOver';
import { levelViews } from '../policy/levelViews';
import { parsePolicy } from '../policy/policyLoader';
import { wireManagedSessionLock } from '../cageManager/managedSessionLock';
import type { DrillContext } from '../training/drills/drill';
import { managerTrainingActs } from '../training/drills/managerTrainingActs';
import { startRightLevelDrill } from '../training/drills/rightLevelDrill';
import { startSpoofDrill } from '../training/drills/spoofDrill';
import { waitFor } from './waitFor';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; stateDir: string; runDir: string; partDir: string; goDir: string; workstation: string; password: string; uid: number };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });
const failure = (err: unknown) => ({ error: (err as Error).message, code: (err as CloisonError).code ?? null, text: (err as CloisonError).text ?? null });
async function step(name: string, act: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    report(name, await act());
  } catch (err) {
    report(name, failure(err));
  }
}
const go = (name: string) => waitFor(() => existsSync(join(start.goDir, name)), `the parent's ${name}`, 120_000);

const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = parsePolicy(start.policy, 'p.yaml');
const reader = { current: () => policy };
const records: Array<Record<string, unknown>> = [];
const wireLock = (dir: string) => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return wireManagedSessionLock({ policy: reader, stateDir: dir, shellUser: start.workstation, record: (kind, actor, fields) => records.push({ kind, actor, ...fields }), show: () => undefined, apply: () => undefined }, { client });
};
const shell = { transport: 'websocket' as const };

// The lock: a wrong password, counted by the manager.
const first = wireLock(join(start.partDir, 'first'));
first.lock.lock('user');
await step('wrong password', async () => ({ view: await first.lock.unlock(`not-${start.password}`, shell), failed: records.filter((r) => r.kind === 'session.unlock-failed') }));
// A part restarted with its state folder emptied: no count of its own, the manager's holds.
const second = wireLock(join(start.partDir, 'second'));
second.lock.lock('user');
await step('right password while the manager waits', async () => ({ view: await second.lock.unlock(start.password, shell) }));
report('view after the refusal', { view: second.lock.view() });
await new Promise((r) => setTimeout(r, second.lock.view().retryInMs + 200));
await step('right password after the wait', async () => ({ view: await second.lock.unlock(start.password, shell), unlocked: records.filter((r) => r.kind === 'session.unlock'), failed: records.filter((r) => r.kind === 'session.unlock-failed') }));

// The low cage through the manager, an app of the policy through the launcher.
const lifecycle = new CageLifecycle({ level: 'low', driver: new RemoteCageDriver({ client, handed: new HandedSockets(), level: 'low', uid: start.uid, policy: () => policy, stateDir: start.stateDir, runDir: start.runDir }) });
await lifecycle.start();
report('cage', { status: lifecycle.state.status });
const apps = new AppLauncher({ policy: reader, cages: new Map([['low', lifecycle]]), journal: new FileAuditJournal(join(start.partDir, 'audit.jsonl')), runningApps: managerRunningApps(client) });
const sleepers = async () => (await apps.list()).find((l) => l.level === 'low')?.apps.find((a) => a.id === 'sleeper')?.running ?? null;
await step('app', async () => ({ ...(await apps.launch('low', 'sleeper')), running: await sleepers() }));
// The parent ends the app, as its user closing it would; the launcher's list says so.
await go('app ended');
await step('app ended', async () => {
  await waitFor(async () => (await sleepers()) === 0, 'the app\'s end in the list', 10_000).catch(() => undefined);
  return { running: await sleepers() };
});
// An app counted by its windows, through the manager (app.windows): a second window of its class
// opened in the cage by another program (as Firefox's second window, handed over) counts too.
const terminals = async () => (await apps.list()).find((l) => l.level === 'low')?.apps.find((a) => a.id === 'terminal')?.running ?? null;
await step('terminal', async () => {
  await apps.launch('low', 'terminal');
  await waitFor(async () => (await terminals()) === 1, 'the terminal\'s window counted', 10_000).catch(() => undefined);
  return { running: await terminals() };
});
await go('second window');
await step('second window', async () => {
  await waitFor(async () => (await terminals()) === 2, 'the second window counted', 10_000).catch(() => undefined);
  return { running: await terminals(), launched: (await managerRunningApps(client)('low')).filter((p) => p.appId === 'terminal').length };
});
await go('terminal closed');
await step('terminal closed', async () => {
  await waitFor(async () => (await terminals()) === 0, 'the terminal\'s window gone from the count', 10_000).catch(() => undefined);
  return { running: await terminals() };
});

// The drills, their acts through the manager.
const ctx: DrillContext = {
  levels: levelViews(policy),
  cage: (level) => (level === 'low' ? lifecycle.cage : null),
  training: managerTrainingActs(client),
  keyPresses: () => 0,
  writeClipboard: () => Promise.resolve(),
  plugKey: () => Promise.reject(new Error('no key in this test')),
  deviceSettled: () => Promise.resolve(),
  now: Date.now,
};
const spoof = await startSpoofDrill({ kind: 'spoof', level: 'low', look: 'band', card: { fr: 'Tâche', en: 'Task' }, afterSeconds: 0, timeLimitSeconds: 60 } as Extract<Drill, { kind: 'spoof' }>, ctx);
report('spoof started', {});
await go('hide');
await step('spoof concluded', async () => ({ ...(await spoof.conclude(true)) }));
const rightLevel = await startRightLevelDrill({ kind: 'right-level', card: { fr: 'Tâche', en: 'Task' }, document: { name: 'note-formation.txt', content: 'Texte de la formation\n' }, expect: 'low', timeLimitSeconds: 60 } as Extract<Drill, { kind: 'right-level' }>, ctx);
rightLevel.answer('open:low');
report('document asked', {});
await go('stop cage');
await lifecycle.stop();

// The lock before sleep: the manager's inhibitor, the sleep announced by its answer to sleep.wait.
second.sleepGuard.start();
await waitFor(() => second.sleepGuard.state === 'logind', 'the manager\'s inhibitor', 10_000).catch(() => undefined);
report('sleep ready', { state: second.sleepGuard.state, locked: second.lock.locked });
if (second.sleepGuard.state === 'logind') {
  await waitFor(() => second.lock.locked, 'the lock at the sleep', 60_000).catch(() => undefined);
  report('slept', { locked: second.lock.locked, lock: records.filter((r) => r.kind === 'session.lock').at(-1) ?? null });
  // The manager let go of its inhibitor for the sleep (or a forged announcement): the unlock takes it again.
  await go('unlock');
  await step('unlocked after the sleep', async () => ({ view: await second.lock.unlock(start.password, shell) }));
  await go('inhibitor seen');
}
second.sleepGuard.stop();
client.close();
channel.send({ type: 'done' });
