/**
 * Test tool, run as the unprivileged part would be (the manager's child, another uid): asks the
 * manager for file helper channels (`files.helper`) as listed in its start message, takes each
 * handed channel, speaks the helper's `serve` requests over it (fileHelper.mjs) and reports each
 * answer to the parent.
 */
import type { Socket } from 'node:net';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { FILES_HELPER_MESSAGE, HandedSockets, managerChannel } from '../cageManager/socketHandOver';

interface Ask {
  level: string;
  uid: number;
  /**
   * Helper requests, in order; a write is committed as soon as the helper says its copy is staged,
   * unless `hold`: then it is left staged, uncommitted, its answer `exit: -1` (the next one is sent).
   */
  requests: Array<{ mode: string; args: string[]; data?: string; hold?: boolean; /** data of this many bytes (made here: a start message is small) */ dataBytes?: number }>;
  /** Keep the channel open (the helper keeps serving) rather than close it once done. */
  keep?: boolean;
}

const start = restrictCloisonPart() as { managerSocket: string; asks: Ask[] };
const handed = new HandedSockets(10_000, FILES_HELPER_MESSAGE);
managerChannel().send({ type: 'ready' });

/** Sends one request over the channel; its output (decoded) and exit status. */
function helperRequest(channel: Socket, id: number, request: Ask['requests'][number]): Promise<{ out: string; exit: number; stderr: string }> {
  return new Promise((resolve) => {
    let out = '';
    let buf = '';
    let committed = false;
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const answer = JSON.parse(buf.slice(0, nl)) as { id: number; out?: string; exit?: number; stderr?: string };
        buf = buf.slice(nl + 1);
        if (answer.id !== id) continue;
        if (answer.out !== undefined) {
          out += Buffer.from(answer.out, 'base64').toString('utf8');
          if (request.mode === 'write' && request.hold && out.includes('"staged":true')) {
            channel.off('data', onData);
            resolve({ out, exit: -1, stderr: '' });
            return;
          }
          if (request.mode === 'write' && !committed && out.includes('"staged":true')) {
            committed = true;
            channel.write(JSON.stringify({ id, commit: true }) + '\n');
          }
        }
        if (answer.exit !== undefined) {
          channel.off('data', onData);
          resolve({ out, exit: answer.exit, stderr: answer.stderr ?? '' });
        }
      }
    };
    channel.on('data', onData);
    const { dataBytes, ...line } = request;
    channel.write(JSON.stringify({ id, ...line, ...(dataBytes !== undefined ? { data: Buffer.alloc(dataBytes, 0x61).toString('base64') } : {}) }) + '\n');
  });
}

const kept: Socket[] = [];
const client = await CageManagerClient.connectOnceListening(start.managerSocket);
for (const ask of start.asks) {
  try {
    const { connection } = (await client.request({ op: 'files.helper', level: ask.level, uid: ask.uid })) as { connection: number };
    const channel = await handed.take(connection);
    const answers = [];
    for (const [i, request] of ask.requests.entries()) answers.push(await helperRequest(channel, i + 1, request));
    if (ask.keep) kept.push(channel);
    else channel.destroy();
    managerChannel().send({ type: 'report', level: ask.level, uid: ask.uid, answers });
  } catch (err) {
    managerChannel().send({ type: 'report', level: ask.level, uid: ask.uid, error: (err as Error).message });
  }
}
managerChannel().send({ type: 'done' });
