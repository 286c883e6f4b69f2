/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`): first as a compromised
 * part, it asks what the policy does not imply (a cage with uid 0 or another level's uid, a level
 * the policy does not name, a bwrap argument as a level id, another argv or another level's app,
 * another level's home image); then as the part: starts the low cage, takes its VNC connection on
 * its channel and reads the RFB greeting, launches the policy's app and finds it in /proc, waits
 * for the test's SIGUSR1, stops the cage, starts it again and waits (the test stops the manager).
 * Each answer goes to its stderr as a marked JSON line (managerPartPlan.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { CloisonError } from '../../shared/errors';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import type { RootRequest } from '../cageManager/requests';
import { HandedSockets, managerChannel } from '../cageManager/socketHandOver';
import { MANAGER_PART_PLAN, PART_REPORT_MARK } from './managerPartPlan';

const { managerSocket, stateDir, runDir } = restrictCloisonPart() as { managerSocket: string; stateDir: string; runDir: string };
const handed = new HandedSockets();
const channel = managerChannel();
const { low, high } = MANAGER_PART_PLAN;
const signalled = new Promise<void>((resolve) => process.once('SIGUSR1', () => resolve()));
channel.send({ type: 'ready' });

const report = (step: string, fields: Record<string, unknown>) => process.stderr.write(`${PART_REPORT_MARK}${JSON.stringify({ step, ...fields })}\n`);

const client = await CageManagerClient.connectOnceListening(managerSocket);

async function attempt(step: string, request: RootRequest): Promise<unknown> {
  try {
    const result = await client.request(request);
    report(step, { result });
    return result;
  } catch (err) {
    report(step, { code: (err as CloisonError).code, error: (err as Error).message.slice(0, 300) });
    return null;
  }
}

function greetingOver(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (bytes.length >= 12) resolve(bytes.subarray(0, 12).toString('latin1'));
    });
  });
}

/** The host's processes whose command line is `argv`, with their status's Uid and Seccomp lines. */
function processesRunning(argv: readonly string[]): Array<{ pid: number; uid: number; seccomp: number }> {
  const wanted = `${argv.join('\0')}\0`;
  const found: Array<{ pid: number; uid: number; seccomp: number }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1') !== wanted) continue;
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      found.push({ pid: Number(name), uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), seccomp: Number(/^Seccomp:\s+(\d+)/m.exec(status)![1]) });
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

// A compromised part: every one of these must be refused (and journaled by the manager).
await attempt('start as root', { op: 'cage.start', level: 'low', uid: 0 });
await attempt('start with high\'s uid', { op: 'cage.start', level: 'low', uid: high.uid });
await attempt('start a level not named', { op: 'cage.start', level: 'top', uid: low.uid });
await attempt('start a bwrap argument', { op: 'cage.start', level: '--bind', uid: low.uid });
await attempt('mount high\'s image as low\'s home', { op: 'home.mount', level: 'low', image: bwrapCagePaths(stateDir, runDir, 'high').homeImage, target: bwrapCagePaths(stateDir, runDir, 'low').home });

// The part's own work.
await attempt('start', { op: 'cage.start', level: 'low', uid: low.uid });
await attempt('second start', { op: 'cage.start', level: 'low', uid: low.uid });
const vnc = (await attempt('vnc', { op: 'cage.vncSocket', level: 'low' })) as { connection: number } | null;
if (vnc) {
  const socket = await handed.take(vnc.connection);
  report('greeting', { banner: await greetingOver(socket), uid: process.getuid!() });
  socket.destroy();
}
await attempt('launch another argv', { op: 'app.launch', level: 'low', appId: low.app.id, argv: ['sh', '-c', 'id'] });
await attempt('launch an extra argument', { op: 'app.launch', level: 'low', appId: low.app.id, argv: [...low.app.exec, '--x'] });
await attempt('launch high\'s app in low', { op: 'app.launch', level: 'low', appId: high.app.id, argv: [...high.app.exec] });
await attempt('launch', { op: 'app.launch', level: 'low', appId: low.app.id, argv: [...low.app.exec] });
let seen: ReturnType<typeof processesRunning> = [];
for (let i = 0; i < 100 && seen.length === 0; i++) {
  seen = processesRunning(low.app.exec);
  if (seen.length === 0) await new Promise((r) => setTimeout(r, 100));
}
report('seen', { processes: seen });
// The test looks from its side, then lets the part go on.
await signalled;
await attempt('stop', { op: 'cage.stop', level: 'low' });
report('after the stop', { processes: processesRunning(low.app.exec) });
await attempt('start again', { op: 'cage.start', level: 'low', uid: low.uid });
// Stays up: the test stops the manager, which stops this part and the cage.
setInterval(() => undefined, 60_000);
