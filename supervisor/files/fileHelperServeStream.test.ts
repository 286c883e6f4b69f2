/**
 * The serving file helper's streamed write (fileHelper.mjs `serve`), spoken to as the part speaks
 * to it, on a real sandbox over a home of a test uid: the size announced is reserved against what
 * the helper may stage at once before any byte comes, the chunks are staged, and only the bytes
 * announced land, as the home's uid's. A part sending more than it announced (to stage past the
 * bound: the reservation is what the bound counts) has its write dropped and refused, nothing
 * under its name nor half-written, the reservation freed; an announce past what is left is refused
 * unreserved; the channel closed mid-stream, the helper ends.
 * Seen with the check on the chunks taken out: the helper took 150 bytes for a write announced at
 * 100 (staged past its reservation, never reaching the size it waits for).
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { testRoot } from '../testing/realCage';
import { fileHelperSandboxArgs } from './cageFileSandbox';

const UID = 58796;
const STAGE = 1000;

let root: string;
let home: string;
let server: Server;
const socketPath = () => join(root, 'helper.sock');

beforeAll(async () => {
  root = testRoot('cloison-fhs-');
  chmodSync(root, 0o711);
  home = join(root, 'home');
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, UID, UID);
  server = createServer();
  await new Promise<void>((r) => server.listen(socketPath(), r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

interface Helper {
  send(m: Record<string, unknown>): void;
  /** The answers to request `id`, until its exit (or until `staged` when asked). */
  answer(id: number, untilStaged?: boolean): Promise<{ out: string; exit?: number; stderr?: string }>;
  close(): void;
  exited: Promise<number | null>;
}

/** A serving helper whose channel is a connected Unix socket: its end the helper's stdin, ours kept here. */
async function startHelper(): Promise<Helper> {
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const ours = new Socket();
  await new Promise<void>((r) => ours.connect(socketPath(), r));
  const theirs = await accepted;
  const fd = (theirs as unknown as { _handle: { fd: number } })._handle.fd;
  const child = spawnBwrap(fileHelperSandboxArgs({ home, uid: UID }, (node) => [node, '/opt/cloison-file-helper.mjs', 'serve', String(STAGE)], undefined, '1777', STAGE + 1024 * 1024), { stdio: [fd, 'ignore', 'ignore'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise((r) => child.on('spawn', r));
  theirs.destroy(); // the helper holds its own copy
  let buf = '';
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  ours.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
    for (const w of waiting.splice(0)) w();
  });
  return {
    send: (m) => ours.write(JSON.stringify(m) + '\n'),
    answer: async (id, untilStaged) => {
      let out = '';
      for (let seen = 0; ; ) {
        while (seen < lines.length) {
          const line = lines[seen++]!;
          if (line.id !== id) continue;
          if (typeof line.out === 'string') out += Buffer.from(line.out, 'base64').toString('utf8');
          if (untilStaged && out.includes('"staged":true')) return { out };
          if (typeof line.exit === 'number') return { out, exit: line.exit, stderr: line.stderr as string };
        }
        await new Promise<void>((r) => waiting.push(r));
      }
    },
    close: () => ours.destroy(),
    exited,
  };
}

const chunk = (text: string) => Buffer.from(text).toString('base64');

describe('the serving file helper\'s streamed write', () => {
  it('lands the bytes announced, sent in chunks, as the home\'s uid', async () => {
    const helper = await startHelper();
    const parts = ['a'.repeat(300), 'b'.repeat(200), 'c'.repeat(100)];
    helper.send({ id: 1, mode: 'write', args: ['Incoming/low', 'streamed.txt'], size: 600 });
    for (const p of parts) helper.send({ id: 1, chunk: chunk(p) });
    expect((await helper.answer(1, true)).out).toContain('"staged":true');
    helper.send({ id: 1, commit: true });
    expect(await helper.answer(1)).toMatchObject({ exit: 0, out: expect.stringContaining('"name":"streamed.txt"') });
    const landed = join(home, 'Incoming', 'low', 'streamed.txt');
    expect(readFileSync(landed, 'utf8')).toBe(parts.join(''));
    expect(statSync(landed)).toMatchObject({ uid: UID, gid: UID });
    helper.close();
    expect(await helper.exited).toBe(0);
  }, 30_000);

  it('drops a write sent more bytes than announced; refuses an announce past what is left; frees what it dropped', async () => {
    const helper = await startHelper();
    // A reservation holds before any byte comes: 600 held, 600 more refused.
    helper.send({ id: 1, mode: 'write', args: ['Incoming/low', 'held.txt'], size: 600 });
    helper.send({ id: 2, mode: 'write', args: ['Incoming/low', 'second.txt'], size: 600 });
    expect(await helper.answer(2)).toMatchObject({ exit: 2, stderr: `600 bytes to stage, 400 of ${STAGE} left: commit or drop a staged write first` });
    // More than announced: dropped, refused, its reservation freed.
    helper.send({ id: 1, chunk: chunk('x'.repeat(650)) });
    expect(await helper.answer(1)).toMatchObject({ exit: 2, stderr: 'more than the 600 bytes announced' });
    // The next chunks of the dropped write change nothing.
    helper.send({ id: 1, chunk: chunk('y'.repeat(10)) });
    helper.send({ id: 3, mode: 'write', args: ['Incoming/low', 'too-big.txt'], size: STAGE + 1 });
    expect(await helper.answer(3)).toMatchObject({ exit: 2, stderr: `${STAGE + 1} bytes to stage, ${STAGE} of ${STAGE} left: commit or drop a staged write first` });
    // The whole bound free again: a write of all of it lands.
    helper.send({ id: 4, mode: 'write', args: ['Incoming/low', 'full.txt'], size: STAGE });
    helper.send({ id: 4, chunk: chunk('z'.repeat(STAGE)) });
    await helper.answer(4, true);
    helper.send({ id: 4, commit: true });
    expect(await helper.answer(4)).toMatchObject({ exit: 0 });
    const names = readdirSync(join(home, 'Incoming', 'low'));
    expect(names).not.toContain('held.txt');
    expect(names).not.toContain('second.txt');
    expect(names).not.toContain('too-big.txt');
    expect(names.filter((n) => n.startsWith('.cloison-partial-'))).toEqual([]);
    expect(statSync(join(home, 'Incoming', 'low', 'full.txt')).size).toBe(STAGE);
    helper.close();
    expect(await helper.exited).toBe(0);
  }, 30_000);

  it('ends when its channel closes in the middle of a write, nothing landed', async () => {
    const helper = await startHelper();
    helper.send({ id: 1, mode: 'write', args: ['Incoming/low', 'cut.txt'], size: 500 });
    helper.send({ id: 1, chunk: chunk('q'.repeat(200)) });
    helper.send({ id: 2, mode: 'list', args: [''] });
    expect(await helper.answer(2)).toMatchObject({ exit: 0 }); // the chunk before it was taken
    helper.close();
    expect(await helper.exited).toBe(0);
    expect(readdirSync(join(home, 'Incoming', 'low'))).not.toContain('cut.txt');
  }, 30_000);
});
