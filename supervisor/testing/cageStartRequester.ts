/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * starts a level's cage through the manager's socket, asks again (a second start), takes the cage's
 * VNC connection and does the RFB version exchange over it, waits for the cage's end (`cage.wait`,
 * the parent kills the cage meanwhile), starts it again, stops it, and reports each answer to the
 * parent (its channel).
 */
import type { Socket } from 'node:net';
import type { CloisonError } from '../../shared/errors';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import type { RootRequest } from '../cageManager/requests';
import { HandedSockets, managerChannel } from '../cageManager/socketHandOver';

const { managerSocket, level, uid } = restrictCloisonPart() as { managerSocket: string; level: string; uid: number };
const handed = new HandedSockets();
const channel = managerChannel();
channel.send({ type: 'ready' });

const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });

const client = await CageManagerClient.connectOnceListening(managerSocket);

async function attempt(step: string, request: RootRequest): Promise<unknown> {
  try {
    const result = await client.request(request);
    report(step, { result });
    return result;
  } catch (err) {
    report(step, { error: (err as Error).message, code: (err as CloisonError).code });
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

await attempt('start', { op: 'cage.start', level, uid });
await attempt('second start', { op: 'cage.start', level, uid });
const vnc = (await attempt('vnc', { op: 'cage.vncSocket', level })) as { connection: number } | null;
if (vnc) {
  const socket = await handed.take(vnc.connection);
  report('greeting', { banner: await greetingOver(socket), uid: process.getuid!() });
  socket.destroy();
}
const waited = attempt('wait', { op: 'cage.wait', level });
report('waiting', {});
await waited;
await attempt('stop after its end', { op: 'cage.stop', level });
await attempt('start again', { op: 'cage.start', level, uid });
await attempt('stop', { op: 'cage.stop', level });
await attempt('wait after the stop', { op: 'cage.wait', level });
channel.send({ type: 'done' });
