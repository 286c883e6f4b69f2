/**
 * Test tool, run as the cloison part (the cage manager's child, dropped to its account): starts a
 * part of its own the way the AudioBroker starts the sound part there (sandbox/partProcess.ts, not
 * root), its code the `script` of its start, with the `limits` of its start. Reports each start of
 * that part (its pid, its control group's folders) and each of its restarts; stays until stopped.
 */
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';
import type { PartLimits } from '../sandbox/partCgroup';
import { UnprivilegedPart } from '../sandbox/partProcess';
import { testPartDefinition, type TestPartMessage } from './testPartDefinition';

const start = restrictCloisonPart() as { script: string; limits: PartLimits };
const channel = managerChannel();
channel.send({ type: 'ready' });
const child: UnprivilegedPart<TestPartMessage, unknown> = new UnprivilegedPart(
  testPartDefinition(import.meta.url, 'sound part', start.script, {
    limits: start.limits,
    started: () => channel.send({ type: 'report', step: 'started', pid: child.pid, dirs: child.cgroupDirs, uid: process.getuid!() }),
    restarting: (reason) => channel.send({ type: 'report', step: 'restarting', reason }),
    log: (msg, fields) => channel.send({ type: 'report', step: 'log', msg, ...fields }),
  }),
);
await child.start();
