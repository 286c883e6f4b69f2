/**
 * Test tool, run as the unprivileged part (cageManager/cloisonPart.ts: restricted to another uid first):
 * takes each handed VNC socket, does the RFB version exchange over it and reports what it read,
 * its own uid and which socket its descriptor is (/proc/self/fd), then leaves the socket open.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';

restrictCloisonPart();

const kept: Socket[] = [];

const manager = managerChannel();
manager.onHandedSocket((message, socket) => {
  kept.push(socket);
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  let bytes = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    bytes = Buffer.concat([bytes, chunk]);
    if (bytes.length === 12) socket.write(bytes); // the same version back: RFB 003.008
    if (bytes.length > 12) {
      const status = readFileSync('/proc/self/status', 'utf8');
      manager.send({
        type: 'report',
        connection: message.connection,
        level: message.level,
        banner: bytes.subarray(0, 12).toString('latin1'),
        securityTypes: [...bytes.subarray(13, 13 + bytes[12]!)],
        socket: readlinkSync(`/proc/self/fd/${fd}`),
        uid: process.getuid!(),
        capEff: /^CapEff:\s*(\S+)/m.exec(status)![1],
        noNewPrivs: Number(/^NoNewPrivs:\s*(\d)/m.exec(status)![1]),
        seccomp: Number(/^Seccomp:\s*(\d)/m.exec(status)![1]),
      });
    }
  });
});
manager.send({ type: 'ready' });
