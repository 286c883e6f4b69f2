/**
 * Test tool, run as a compromised `cloison` part (the manager's child, dropped to the test's
 * `cloison` account): asks `vnc.connect` as it likes and does what it wants with the sockets the
 * manager hands over (reads them, holds them, writes to them). One JSON line a command on a socket
 * of its own, one a reply.
 */
import type { Socket } from 'node:net';
import type { CloisonError } from '../../../shared/errors';
import { CageManagerClient } from '../cageManagerClient';
import { restrictCloisonPart } from '../cloisonPartRestriction';
import type { RootRequest } from '../requests';
import { HandedSockets, managerChannel, VNC_SERVER_MESSAGE } from '../socketHandOver';
import { serveCommands } from '../partCommandServer.testTool';

const start = restrictCloisonPart() as { managerSocket: string; commandSocket: string };
const channel = managerChannel();
channel.send({ type: 'ready' });
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
const handed = new HandedSockets(600_000, VNC_SERVER_MESSAGE);
const held: Socket[] = [];

type Command =
  | { id: number; cmd: 'read'; level: string; hold?: boolean }
  | { id: number; cmd: 'hold'; level: string; n: number }
  | { id: number; cmd: 'say'; index: number; text: string }
  | { id: number; cmd: 'raw'; request: RootRequest; n?: number }
  | { id: number; cmd: 'sample'; level: string; n: number }
  | { id: number; cmd: 'release' };

/** What the peer sends within 500 ms of being asked (or of `text` written), as text. */
function firstBytes(socket: Socket, text?: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const done = () => {
      socket.off('data', onData);
      socket.pause();
      resolve(got);
    };
    const onData = (b: Buffer) => (got += b.toString('latin1'));
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', done);
    setTimeout(done, 500);
    socket.resume();
    if (text !== undefined) socket.write(text);
  });
}

async function vncConnect(level: string): Promise<Socket> {
  const { connection } = (await client.request({ op: 'vnc.connect', level })) as { connection: number };
  return handed.take(connection);
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'read': {
      const socket = await vncConnect(c.level);
      const bytes = await firstBytes(socket);
      if (c.hold) held.push(socket);
      else socket.destroy();
      return { bytes, held: held.length };
    }
    case 'hold': {
      const errors: Record<string, number> = {};
      for (let i = 0; i < c.n; i++) {
        try {
          held.push(await vncConnect(c.level));
        } catch (err) {
          const key = (err as CloisonError).code ?? (err as Error).message;
          errors[key] = (errors[key] ?? 0) + 1;
        }
      }
      return { held: held.length, errors };
    }
    case 'say':
      return { bytes: await firstBytes(held[c.index]!, c.text) };
    case 'raw': {
      const answers: Record<string, number> = {};
      let last: unknown = null;
      await Promise.all(
        Array.from({ length: c.n ?? 1 }, () =>
          client.request(c.request).then(
            (r) => ((answers.ok = (answers.ok ?? 0) + 1), (last = r)),
            (err: CloisonError) => ((answers[err.code ?? 'error'] = (answers[err.code ?? 'error'] ?? 0) + 1), (last = err.message)),
          ),
        ),
      );
      return { answers, last };
    }
    case 'sample': {
      // n connections, 8 at a time: what each peer says first (a whole line after the greeting), or the refusal's code.
      const outcomes: Record<string, number> = {};
      const one = async () => {
        let key: string;
        try {
          const socket = await vncConnect(c.level);
          key = await new Promise<string>((resolve) => {
            let got = '';
            const done = () => (socket.destroy(), resolve(got));
            socket.on('data', (b: Buffer) => {
              got += b.toString('latin1');
              if (/^service.*\n$|\n.*\n$/s.test(got)) done();
            });
            socket.on('error', () => undefined);
            socket.once('close', done);
            setTimeout(done, 300);
            socket.resume();
          });
        } catch (err) {
          key = (err as CloisonError).code ?? 'error';
        }
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      };
      for (let i = 0; i < c.n; i += 8) await Promise.all(Array.from({ length: Math.min(8, c.n - i) }, one));
      return { outcomes };
    }
    case 'release':
      for (const s of held.splice(0)) s.destroy();
      return { held: 0 };
  }
}

serveCommands<Command>(start.commandSocket, run, () => channel.send({ type: 'listening', uid: process.getuid!() }));
