/**
 * Test tool, run as the unprivileged part would be (the manager's child, another uid): asks the
 * manager for each level's VNC connection over its socket, takes the handed socket, does the RFB
 * version exchange over it and reports each outcome to the parent (its channel).
 */
import { readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { HandedSockets, managerChannel } from '../cageManager/socketHandOver';

const start = restrictCloisonPart() as { managerSocket: string; levels: string[] };

const { managerSocket: socketPath, levels } = start;
const handed = new HandedSockets();
managerChannel().send({ type: 'ready' });

function greetingOver(socket: Socket): Promise<{ banner: string; securityTypes: number }> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (bytes.length === 12) socket.write(bytes);
      if (bytes.length > 12) resolve({ banner: bytes.subarray(0, 12).toString('latin1'), securityTypes: bytes[12]! });
    });
  });
}

const client = await CageManagerClient.connect(socketPath);
for (const level of levels) {
  try {
    const { connection } = (await client.request({ op: 'cage.vncSocket', level })) as { connection: number };
    const socket = await handed.take(connection);
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    managerChannel().send({ type: 'report', level, connection, socket: readlinkSync(`/proc/self/fd/${fd}`), uid: process.getuid!(), ...(await greetingOver(socket)) });
  } catch (err) {
    managerChannel().send({ type: 'report', level, error: (err as Error).message });
  }
}
managerChannel().send({ type: 'done' });
