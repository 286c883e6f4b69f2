/**
 * Test tool, run as the unprivileged part is (the manager's child, dropped to the `cloison`
 * account): the vnc levels' drivers the part's fleet makes (partSides.ts's remoteVnc), and a socket
 * of its own on which the test asks what the fleet (start, watch, a viewer's connection, stop) or a
 * compromised part (a request of its choosing, the server's socket opened directly) would. One JSON
 * line a request, one a reply.
 */
import { connect, Socket } from 'node:net';
import type { RunningCage } from '../cages/cageDriver';
import { CageManagerClient } from './cageManagerClient';
import { restrictCloisonPart } from './cloisonPartRestriction';
import { managerChannel } from './socketHandOver';
import type { RootRequest } from './requests';
import { remoteVncDrivers } from './remoteVncDriver';
import { serveCommands } from './partCommandServer.testTool';

const start = restrictCloisonPart() as { managerSocket: string; commandSocket: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const link = { client: await CageManagerClient.connectOnceListening(start.managerSocket) };
const drivers = remoteVncDrivers(link, { watchIntervalMs: 50 });
const running = new Map<string, RunningCage>();

type Command =
  | { id: number; cmd: 'start'; level: string; socket: string }
  | { id: number; cmd: 'exited'; level: string }
  | { id: number; cmd: 'view'; level: string }
  | { id: number; cmd: 'stop'; level: string }
  | { id: number; cmd: 'raw'; request: RootRequest }
  | { id: number; cmd: 'direct'; path: string };

/** The first 12 bytes a socket's peer sends (the RFB greeting), the socket then closed. */
function greeting(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 12) {
        socket.destroy();
        resolve(got.subarray(0, 12).toString('latin1'));
      }
    });
    socket.on('error', reject);
  });
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'start': {
      const cage = await drivers(c.level, c.socket).start();
      running.set(c.level, cage);
      return { endpoint: cage.endpoint };
    }
    case 'exited':
      return running.get(c.level)!.exited;
    case 'view': {
      // As the gateway takes it: the handle, wrapped in a socket of its own.
      const handle = await running.get(c.level)!.openVnc!();
      return { banner: await greeting(new Socket({ handle } as never)) };
    }
    case 'stop':
      await running.get(c.level)!.stop();
      return running.get(c.level)!.exited;
    case 'raw':
      return link.client.request(c.request);
    case 'direct':
      return { banner: await greeting(connect(c.path)) };
  }
}

serveCommands<Command>(start.commandSocket, run, () => channel.send({ type: 'listening', uid: process.getuid!() }));
