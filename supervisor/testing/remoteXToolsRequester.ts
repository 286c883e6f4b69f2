/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * the supervisor's clipboard (XCageClipboards), screens (CageScreens) and keyboard layout
 * (followKeyboardLayout) on the level's cage, with the cage manager's X tools (remoteXTools.ts, as
 * xToolsWiring.ts gives them) — reads what the cage copied, pastes its own text, sizes the screen
 * twice from frame reports, sets the policy's layout as the cage starts — reporting each outcome to
 * the parent. Then it says `pasted` and waits for an app of the cage to take the selection (the
 * parent makes one), and reads the cage's clipboard again. With `resizeOnly`: one frame report, its
 * outcome, and nothing else. With `copyThenPaste`: the clipboard's copy, then that text pasted.
 */
import { EventEmitter } from 'node:events';
import type { CloisonError } from '../../shared/errors';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerXTools } from '../cageManager/xToolsWiring';
import { managerChannel } from '../cageManager/socketHandOver';
import type { CageLifecycle } from '../cages/cageLifecycle';
import { XCageClipboards } from '../clipboard/cageClipboards';
import type { ReadResult } from '../clipboard/xSelection';
import { followKeyboardLayout } from '../keyboard/keyboardWiring';
import { parsePolicy } from '../policy/policyLoader';
import { RunningPolicy } from '../policy/runningPolicy';
import { CageScreens, screenThrough } from '../screen/cageScreens';

const start = restrictCloisonPart() as { managerSocket: string; level: string; policy: string; resizeOnly?: { width: number; height: number }; copyThenPaste?: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });
const failure = (err: unknown) => ({ error: (err as Error).message, code: (err as CloisonError).code ?? null });
const shown = (r: ReadResult) => (r.kind === 'text' ? { kind: r.kind, text: r.bytes.toString('utf8'), selection: r.selection } : r);

async function step(name: string, act: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    report(name, await act());
  } catch (err) {
    report(name, failure(err));
  }
}

const { level } = start;
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = new RunningPolicy(parsePolicy(start.policy, 'p.yaml'), start.policy, 'p.yaml');
// The part's fleet: the level's cage runs, the other level's does not.
const lifecycle = Object.assign(new EventEmitter(), { level, state: { status: 'starting' }, cage: null as object | null });
const cages = new Map([[level, lifecycle as unknown as CageLifecycle]]);
const tools = managerXTools({ client }, { policy, isRunning: (l) => cages.get(l)?.cage != null })!;

if (start.resizeOnly) {
  lifecycle.cage = {};
  const logged: Array<Record<string, unknown>> = [];
  const screens = new CageScreens({ policy, minIntervalMs: 0, ...screenThrough(tools), log: (msg, fields) => void logged.push({ msg, ...fields }) });
  screens.frameSize(level, { ...start.resizeOnly, devicePixelRatio: 1 });
  while (logged.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  report('screen', logged[0]!);
  client.close();
  channel.send({ type: 'done' });
  await new Promise(() => undefined); // the parent stops it
}

const clipboards = new XCageClipboards(() => undefined, (l) => cages.get(l)?.cage != null, tools);
lifecycle.cage = {};
if (start.copyThenPaste !== undefined) {
  await step('copy', async () => shown(await clipboards.read(level, 4096)));
  await step('paste', async () => (await clipboards.write(level, start.copyThenPaste!), { pasted: true }));
  client.close();
  channel.send({ type: 'done' });
  await new Promise(() => undefined); // the parent stops it
}
await step('read', async () => shown(await clipboards.read(level, 4096)));
await step('read primary over the bound', async () => shown(await tools.readSelection(level, 4096, 'primary')));
await step('read other level', async () => shown(await clipboards.read('high', 4096)));
await step('paste', async () => (await clipboards.write(level, 'collé par la partie'), { pasted: true }));

const applied: Array<Record<string, unknown>> = [];
const screens = new CageScreens({ policy, minIntervalMs: 0, ...screenThrough(tools), log: (msg, fields) => void applied.push({ msg, ...fields }) });
const resized = async (width: number, height: number) => {
  const before = applied.length;
  screens.frameSize(level, { width, height, devicePixelRatio: 1 });
  while (applied.length === before) await new Promise((resolve) => setTimeout(resolve, 50));
  return applied.at(-1)!;
};
await step('screen', async () => resized(1000, 700));
await step('screen again', async () => resized(900, 650));
screens.dispose();

const keymaps: Array<Record<string, string>> = [];
followKeyboardLayout(policy, cages, () => undefined, (kind, fields) => void keymaps.push({ kind, ...fields }), tools);
lifecycle.state.status = 'running';
lifecycle.emit('status', lifecycle.state);
await step('keymap', async () => {
  while (keymaps.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  return { fact: keymaps[0], query: await tools.queryKeymap(level) };
});

// The parent now has an app of the cage copy something: the pasted selection is no longer ours.
report('pasted', {});
await step('taken', async () => {
  const served = (clipboards as unknown as { servers: Map<string, Map<string, { owned: boolean }>> }).servers.get(level)!.get('clipboard')!;
  while (served.owned) await new Promise((resolve) => setTimeout(resolve, 50));
  return { owned: served.owned, read: shown(await clipboards.read(level, 4096)) };
});
client.close();
channel.send({ type: 'done' });
