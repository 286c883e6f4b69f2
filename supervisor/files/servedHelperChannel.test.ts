/**
 * The part's end of a file helper's channel against a helper that does not speak as the helper
 * does (it runs as a cage's uid over that cage's home): an answer line that never ends, a line that
 * is not an answer, an answer with no id. Each ends the channel, and the request waiting on it
 * ends as failed with the channel's reason, rather than the part buffering without end or taking
 * the line for an answer. Seen with the line bound taken out: 8 MiB without a newline buffered,
 * the request still waiting.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_CLOSED, ServedHelperChannel } from './servedHelperChannel';

let server: Server;
const path = join(tmpdir(), `cloison-shc-${process.pid}.sock`);

beforeAll(async () => {
  rmSync(path, { force: true });
  server = createServer();
  server.listen(path);
  await once(server, 'listening');
});

afterAll(async () => {
  server.close();
  rmSync(path, { force: true });
});

/** A channel to a fake helper, and the fake helper's end. */
async function pair(): Promise<{ channel: ServedHelperChannel; helper: Socket }> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const ours = new Socket();
  ours.connect(path);
  await once(ours, 'connect');
  const [helper] = await accepted;
  helper.on('error', () => undefined); // the part resets what it will not read
  return { channel: new ServedHelperChannel(ours), helper };
}

function ask(channel: ServedHelperChannel): Promise<{ code: number; stderr: string; out: number }> {
  return new Promise((resolve) => {
    let out = 0;
    channel.request('list', [''], { out: (c) => ((out += c.length), true), exit: (code, stderr) => resolve({ code, stderr, out }) });
  });
}

describe('the part\'s end of a file helper channel, against a helper that does not speak as one', () => {
  it('takes its answers: output chunks, then the exit', async () => {
    const { channel, helper } = await pair();
    const answered = ask(channel);
    const [request] = (await once(helper, 'data')) as [Buffer];
    expect(JSON.parse(request.toString())).toEqual({ id: 1, mode: 'list', args: [''] });
    helper.write(`${JSON.stringify({ id: 1, out: Buffer.from('[]\n').toString('base64') })}\n${JSON.stringify({ id: 1, exit: 0, stderr: '' })}\n`);
    expect(await answered).toEqual({ code: 0, stderr: '', out: 3 });
    channel.close();
  });

  it('ends the channel on a line that never ends: the request fails with the channel\'s reason', async () => {
    const { channel, helper } = await pair();
    const answered = ask(channel);
    const chunk = 'A'.repeat(64 * 1024);
    // Written until the part stops reading it (events.once would reject on the reset: plain listeners).
    for (let i = 0; i < 128 && !helper.destroyed; i++) if (!helper.write(chunk)) await new Promise((r) => (helper.once('drain', r), helper.once('close', r)));
    expect(await answered).toEqual({ code: 1, stderr: CHANNEL_CLOSED, out: 0 });
    expect(channel.isOpen).toBe(false);
  });

  it('ends the channel on a line that is no answer, or an answer with no id', async () => {
    for (const line of ['not json', '{"exit":0}', '{"id":1,"what":true}']) {
      const { channel, helper } = await pair();
      const answered = ask(channel);
      helper.write(`${line}\n`);
      expect(await answered, line).toEqual({ code: 1, stderr: CHANNEL_CLOSED, out: 0 });
    }
  });
});
