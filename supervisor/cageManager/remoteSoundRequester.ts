/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * starts a level's cage through RemoteCageDriver, then runs the AudioBroker as the supervisor does
 * when it is the `cloison` part (audioThroughManager: every descriptor from the cage manager), its
 * sound part a process of its own started from here; attaches the cage, gives it the microphone,
 * and reports what the band would show, the sound part's pid and what the broker journals and
 * logs. When its parent makes the file `release` (its start's `signals` folder), it takes the
 * microphone back and mutes the level, and says so. It stays until its parent stops it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AudioBroker } from '../audio/audioBroker';
import { HostSound } from '../audio/hostSound';
import { parsePolicy } from '../policy/policyLoader';
import { audioThroughManager } from './audioThroughManager';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { RemoteCageDriver } from './remoteCageDriver';
import { HandedSockets, managerChannel } from './socketHandOver';

const start = restrictCloisonPart() as { managerSocket: string; level: string; uid: number; policy: string; stateDir: string; runDir: string; signals: string };
const handed = new HandedSockets();
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });

const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = parsePolicy(start.policy, 'p.yaml');
const cage = await new RemoteCageDriver({ client, handed, level: start.level, uid: start.uid, policy: () => policy, stateDir: start.stateDir, runDir: start.runDir }).start();
report('start', { innerPid: cage.innerPid, sound: cage.sound ?? null });

const broker = new AudioBroker({
  policy: { current: () => policy },
  // Never run: with the manager, the host's programs are the manager's (sound.host).
  host: new HostSound(null),
  record: (kind, actor, fields) => report('journal', { kind, actor, ...fields }),
  log: (msg, fields) => report('log', { msg, ...fields }),
  ...audioThroughManager({ client }),
});
const levelView = () => broker.view().levels.find((l) => l.level === start.level)!;
let playing = false;
broker.on('change', () => {
  if (levelView().playing === playing) return;
  playing = levelView().playing;
  report('playing', { playing });
});
await broker.start();
broker.attach(start.level, { dir: '', ...cage.sound! });
const until = async (what: () => boolean) => {
  while (!what()) await new Promise((r) => setTimeout(r, 50));
};
await until(() => levelView().available);
broker.setMicrophone(start.level);
await until(() => levelView().recording);
report('relayed', { soundPartPid: broker.part.pid, view: levelView(), host: broker.view().host, uid: process.getuid!() });
await until(() => existsSync(join(start.signals, 'release')));
broker.setMicrophone(null);
broker.set(start.level, { muted: true });
report('released', { view: levelView() });
