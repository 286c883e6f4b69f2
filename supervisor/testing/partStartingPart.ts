/**
 * Test tool, run as the cloison part (the cage manager's child, dropped to its account): starts a
 * part of its own the way the AudioBroker starts the sound part there (sandbox/partProcess.ts, not
 * root), its code the `script` of its start, with the `limits` of its start. Reports each start of
 * that part (its pid, its control group's folders) and each of its restarts; stays until stopped.
 * With `hide` (a compromised cloison part): a sleeper of its own, named `hide`, moved into a group
 * twelve levels below its own in each controller, and said so.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';
import type { PartLimits } from '../sandbox/partCgroup';
import { UnprivilegedPart } from '../sandbox/partProcess';
import { testPartDefinition, type TestPartMessage } from './testPartDefinition';

const start = restrictCloisonPart() as { script: string; limits: PartLimits; hide?: string };
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
if (start.hide) {
  const sleeper = spawn('sleep', ['1000'], { argv0: start.hide, detached: true, stdio: 'ignore' });
  sleeper.unref();
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).filter((m) => m !== null);
  for (const controller of ['memory', 'pids', 'cpu', 'freezer']) {
    const path = own.find((m) => m[1]!.split(',').includes(controller))?.[2];
    if (path === undefined) continue;
    const deep = join('/sys/fs/cgroup', controller, path, ...Array<string>(12).fill('h'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'cgroup.procs'), String(sleeper.pid));
  }
  channel.send({ type: 'report', step: 'hidden', pid: sleeper.pid, cgroup: readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8') });
}
