/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * drives a level's cage through RemoteCageDriver alone — refusals first (a level the policy does
 * not name, another level's uid), then the start, the cage's socket tried directly, its VNC
 * connection through `openVnc` wrapped as the gateway wraps a handle, an app launched and a command
 * line the policy does not write, the end learnt from `exited` (the parent kills the cage
 * meanwhile), a second start and its stop — reporting each outcome to the parent (its channel).
 */
import { connect, Socket } from 'node:net';
import { remoteCagePart, type RemoteCagePartStart } from './remoteCagePart';

const { start, driverFor, report, failure, done } = await remoteCagePart<RemoteCagePartStart & { level: string; uid: number; otherUid: number }>();

async function step(name: string, act: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    report(name, await act());
  } catch (err) {
    report(name, failure(err));
  }
}

/** The RFB exchange's first two steps over a socket made from the handle, as the gateway makes it. */
function rfbOver(handle: object): Promise<{ banner: string; securityTypes: number }> {
  const socket = new Socket({ handle, readable: true, writable: true } as never);
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const first = bytes.length < 12;
      bytes = Buffer.concat([bytes, chunk]);
      if (first && bytes.length >= 12) socket.write('RFB 003.008\n');
      if (bytes.length >= 13) {
        resolve({ banner: bytes.subarray(0, 12).toString('latin1'), securityTypes: bytes[12]! });
        socket.destroy();
      }
    });
  });
}

await step('unnamed level', async () => ({ cage: await driverFor('secret', start.uid).start() }));
await step('other uid', async () => ({ cage: await driverFor(start.level, start.otherUid).start() }));
const driver = driverFor(start.level, start.uid);
const cage = await driver.start();
report('start', { innerPid: cage.innerPid, endpoint: cage.endpoint });
await step('direct connect', () => new Promise((resolve, reject) => {
  const socket = connect(cage.endpoint);
  socket.once('connect', () => resolve({ connected: true }));
  socket.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { code: err.code })));
}));
await step('verifyPeer', async () => (cage.verifyPeer?.(new Socket()), { verified: true }));
await step('vnc', async () => ({ ...(await rfbOver(await cage.openVnc!())), uid: process.getuid!() }));
await step('launch', async () => ({ ...(await cage.launcher!.launch({ argv: ['sleep', '600'] })) }));
await step('launch unwritten', async () => ({ ...(await cage.launcher!.launch({ argv: ['sh', '-c', 'id'] })) }));
await step('run', async () => ({ ...(await cage.launcher!.run({ argv: ['id'] })) }));
report('waiting', { alive: cage.launcher!.alive });
report('exited', { ...(await cage.exited), alive: cage.launcher!.alive });
await step('stop after its end', async () => (await cage.stop(), { stopped: true }));
const again = await driver.start();
report('start again', { innerPid: again.innerPid });
await step('old cage stopped again', async () => (await cage.stop(), { stopped: true }));
await step('vnc again', async () => ({ ...(await rfbOver(await again.openVnc!())) }));
await step('stop', async () => (await again.stop(), { ...(await again.exited), alive: again.launcher!.alive }));
done();
