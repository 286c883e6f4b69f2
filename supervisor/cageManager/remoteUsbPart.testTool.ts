/**
 * Test tool, run as the unprivileged part is (the manager's child, dropped to the `cloison`
 * account): the USB wiring as the supervisor makes it with `manager` set — the device watcher on
 * sysfs, the broker reading, mounting, ejecting keys through the cage manager — and a socket of its
 * own on which the test asks what a user (the shell's device list, attach, eject, mark and unmark,
 * every confirmation accepted; a training key plugged and unplugged) or a compromised
 * part (a request of its choosing to the manager, a device opened directly) would. One JSON line a
 * request, one a reply.
 */
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { cageUid } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { managerChannel } from './socketHandOver';
import type { RootRequest } from './requests';
import { Confirmations } from '../confirm/confirmations';
import { parsePolicy } from '../policy/policyLoader';
import { RunningPolicy } from '../policy/runningPolicy';
import { prepareUsb, wireUsb } from '../usb/usbWiring';
import { remoteTrainingKeyLoops } from './remoteTrainingKeys';
import { remoteUsbActs } from './remoteUsbKeys';
import { serveCommands } from './partCommandServer.testTool';

const start = restrictCloisonPart() as { managerSocket: string; policy: string; ownDir: string; runDir: string; trainingKeysDir: string; commandSocket: string; trainingKeysModule: string };
// training/trainingKeys.ts, named by the test: a room beside this one, which this tool may not import by name.
const { plugTrainingKey } = (await import(start.trainingKeysModule)) as typeof import('../training/trainingKeys');
const trainingKeys = new Map<string, { unplug(): Promise<void> }>();
const channel = managerChannel();
channel.send({ type: 'ready' });
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const policy = new RunningPolicy(parsePolicy(start.policy, 'p.yaml'), start.policy, 'p.yaml');
const journal = new FileAuditJournal(join(start.ownDir, 'journal.jsonl'));
// The user accepts every trusted confirmation (marking, unmarking) as it is shown.
const confirmations: Confirmations = new Confirmations({ armMs: 0, publish: (q) => queueMicrotask(() => confirmations.answerFromUser(q.id, 'accepted')), settle: () => undefined });
const usb = wireUsb({
  policy,
  stateDir: start.ownDir,
  runDir: start.runDir,
  journal,
  confirmations,
  cageUidOf: (level) => {
    const index = policy.current().levels.findIndex((l) => l.id === level);
    const cage = policy.current().levels[index]?.cage;
    return cage?.driver === 'bwrap' ? cageUid(cage, index) : null;
  },
  trainingKeysDir: start.trainingKeysDir,
  onDevices: () => undefined,
  scanMs: 100,
}, remoteUsbActs(client, start.runDir));
const prepared = await prepareUsb(usb, policy.current().levels.map((l) => l.id));
usb.deviceWatcher.start();

type Command = { id: number; cmd: 'list' } | { id: number; cmd: 'attach'; device: string; level: string; mode: 'read-only' | 'read-write' } | { id: number; cmd: 'eject'; device: string } | { id: number; cmd: 'mark'; device: string; level: string } | { id: number; cmd: 'unmark'; device: string } | { id: number; cmd: 'raw'; request: RootRequest } | { id: number; cmd: 'plugTraining'; dir: string; label: string } | { id: number; cmd: 'unplugTraining'; serial: string } | { id: number; cmd: 'open'; devnode: string };

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'list':
      return usb.devices.list();
    case 'attach':
      return usb.devices.attach(c.device, c.level, c.mode);
    case 'eject':
      return usb.devices.eject(c.device);
    case 'mark':
      return usb.devices.mark(c.device, c.level);
    case 'unmark':
      return usb.devices.unmark(c.device);
    case 'plugTraining': {
      const key = await plugTrainingKey(c.dir, { label: c.label, files: { 'consigne.txt': 'training' }, sizeMiB: 8 }, remoteTrainingKeyLoops(client));
      trainingKeys.set(key.serial, key);
      return { serial: key.serial };
    }
    case 'unplugTraining':
      return trainingKeys.get(c.serial)!.unplug();
    case 'raw':
      return client.request(c.request);
    case 'open':
      return { fd: openSync(c.devnode, 'r') };
  }
}

serveCommands<Command>(start.commandSocket, run, () => channel.send({ type: 'listening', usbReady: prepared.ready, uid: process.getuid!() }));
