/**
 * The card guard's relay program (native/cardRecordRelay.c) fuzzed with the real binary (attack-9),
 * and with the same source built under AddressSanitizer and UndefinedBehaviorSanitizer where gcc
 * can (any memory error ends that build's process: the guard's `gone`, and its report on stderr):
 *  - structured: calls and replies of random lengths, cut into random fragments (empty ones too)
 *    and written in random pieces, refusals held and the supervisor's question slipped in — every
 *    byte each way arrives, in order, and the question's answer never reaches the cage;
 *  - random: a cage sending marks and bytes at random, facing a hostile proxy (one a cage's bytes
 *    took over) sending marks and bytes at random, replies under the numbers of the cage's calls,
 *    refusals included — the relay never dies, and serves a clean connection afterwards.
 * The seed is printed; FUZZ_SEED replays a run. Needs `npm run build` (the program's build).
 */
import { spawnSync } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { builtCardRecordRelay } from './cardRecordRelay';
import { RecordGuard, WholeRecords } from './recordGuard';

const SIGN_INIT = 42;
const LOGIN = 9;
const GET_ATTRIBUTE_VALUE = 31;
const CKR_OBJECT_HANDLE_INVALID = 0x82;
const PROCEDURES = [1, 3, LOGIN, GET_ATTRIBUTE_VALUE, SIGN_INIT, 5, 19, 34];

/** A small seeded generator (mulberry32): a run is replayed from its seed. */
function generator(seed: number): { next: () => number; int: (below: number) => number; bytes: (n: number) => Buffer } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number) => Math.floor(next() * below);
  return { next, int, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) };
}
type Random = ReturnType<typeof generator>;

const markOf = (length: number, last: boolean) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(((last ? 0x80000000 : 0) + length) >>> 0);
  return b;
};
/** A record's body cut into fragments of random lengths (empty ones among them), marks included. */
function fragmented(body: Buffer, random: Random): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const take = random.int(4) === 0 ? body.length - at : Math.min(body.length - at, random.int(body.length + 1));
    const last = at + take === body.length && (take > 0 || random.int(3) > 0);
    parts.push(markOf(take, last), body.subarray(at, at + take));
    at += take;
    if (last) break;
  }
  return Buffer.concat(parts);
}
const callBody = (xid: number, procedure: number, random: Random) => {
  const body = Buffer.concat([Buffer.alloc(40), random.bytes(random.int(600))]);
  [xid, 0, 2, 4, 3, procedure, 0, 0, 0, 0].forEach((w, i) => body.writeUInt32BE(w, i * 4));
  return body;
};
const replyBody = (xid: number, rv: number, extra: Buffer) => {
  const body = Buffer.concat([Buffer.alloc(32), extra]);
  body.writeUInt32BE(xid, 0);
  body.writeUInt32BE(1, 4);
  body.writeUInt32BE(rv, 28);
  return body;
};
const question = (xid: number) => {
  const body = Buffer.alloc(56);
  [xid, 0, 2, 4, 3, GET_ATTRIBUTE_VALUE, 0, 0, 0, 0].forEach((w, i) => body.writeUInt32BE(w, i * 4));
  return Buffer.concat([markOf(body.length, true), body]);
};

/** Writes `bytes` in random pieces, a turn of the event loop (or a few ms) between them. */
async function piecewise(socket: Socket, bytes: Buffer, random: Random): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const take = random.int(3) === 0 ? bytes.length - at : 1 + random.int(Math.min(bytes.length - at, random.int(2) ? 8 : 700));
    if (socket.destroyed) return;
    socket.write(bytes.subarray(at, at + take));
    at += take;
    await new Promise((r) => (random.int(4) === 0 ? setTimeout(r, 1) : setImmediate(r)));
  }
}

const until = async (what: () => boolean, ms = 5000, state: () => string = () => '') => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out ${state()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The same source under ASan and UBSan (any error fatal), or null where gcc cannot. */
function sanitizedBuild(dir: string): string | null {
  const output = join(dir, 'cardRecordRelay-sanitized');
  const source = join(__dirname, 'native', 'cardRecordRelay.c');
  const built = spawnSync('gcc', ['-g', '-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-o', output, source], { encoding: 'utf8' });
  return built.status === 0 ? output : null;
}

interface Run {
  socket: string;
  gone: string[];
  /** The proxy side of each connection, in the order they came, and what it received. */
  proxies: Socket[];
  received: Buffer[];
  refusals: string[];
}

/** A guard with `program`, before a proxy whose every connection `serve` handles. */
async function relayRun(dir: string, program: string, name: string, serve: (socket: Socket, index: number) => void, watch?: ConstructorParameters<typeof RecordGuard>[0]['watch']): Promise<Run> {
  const run: Run = { socket: join(dir, `${name}-cage.sock`), gone: [], proxies: [], received: [], refusals: [] };
  const server: Server = createServer((socket) => {
    const index = run.received.push(Buffer.alloc(0)) - 1;
    run.proxies.push(socket);
    socket.on('data', (d: Buffer) => (run.received[index] = Buffer.concat([run.received[index]!, d])));
    socket.on('error', () => undefined);
    serve(socket, index);
  });
  await new Promise<void>((r) => server.listen(join(dir, `${name}-proxy.sock`), r));
  const guard = new RecordGuard({
    listen: run.socket,
    target: join(dir, `${name}-proxy.sock`),
    maxRecordBytes: 64 * 1024,
    refused: (r) => run.refusals.push(r),
    relay: { program, gone: (why) => run.gone.push(why) },
    ...(watch ? { watch } : {}),
  });
  await guard.start();
  cleanups.push(async () => {
    await guard.stop();
    for (const s of run.proxies) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return run;
}

async function cageConnection(socket: string): Promise<{ cage: Socket; got: () => Buffer; closed: () => boolean }> {
  const cage = createConnection(socket);
  let got = Buffer.alloc(0);
  let closed = false;
  cage.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  cage.on('error', () => undefined);
  cage.on('close', () => (closed = true));
  await new Promise<void>((r) => cage.once('connect', () => r()));
  cleanups.push(() => void cage.destroy());
  return { cage, got: () => got, closed: () => closed };
}

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const dir = testRoot('cloison-attack9-fuzz-');
const sanitized = sanitizedBuild(dir);
const programs: [string, string | null][] = [
  ['the built program', builtCardRecordRelay()],
  ['the source under ASan and UBSan', sanitized],
];

describe.each(programs)('the card relay fuzzed: %s', (name, program) => {
  it.skipIf(program === null)('structured: every byte each way arrives in order however cut, refusals held and asked about, the answer never the cage\'s', async () => {
    console.log(`card relay fuzz (${name}): seed ${seed}`);
    const random = generator(seed);
    /** What the proxy sent for each xid (the cage must get exactly those of its own calls). */
    const sent = new Map<number, Buffer>();
    const answers: (Buffer | null)[] = [];
    let questions = 0;
    const run = await relayRun(
      dir,
      program!,
      `structured-${name.length}`,
      (socket) => {
        const records = new WholeRecords();
        // One reply after the other, each in its pieces (a question's answer and the cage's next call's never mixed).
        let writing = Promise.resolve();
        socket.on('data', (chunk: Buffer) => {
          for (const body of records.feed(chunk)) {
            const xid = body.readUInt32BE(0);
            const procedure = body.readUInt32BE(20);
            const rv = procedure === SIGN_INIT || (procedure === LOGIN && random.int(2) === 0) ? CKR_OBJECT_HANDLE_INVALID : 0;
            const reply = fragmented(replyBody(xid, rv, random.bytes(random.int(3) === 0 ? random.int(3000) : random.int(40))), random);
            sent.set(xid, reply);
            writing = writing.then(() => piecewise(socket, reply, random));
          }
        });
      },
      (ask) => ({
        call: () => undefined,
        reply: (head) => {
          if (head.length >= 32 && head.readUInt32BE(28) === CKR_OBJECT_HANDLE_INVALID) void ask(question(0xc1050000 + questions++)).then((a) => answers.push(a));
        },
      }),
    );
    let xid = 1;
    for (let round = 0; round < 150; round++) {
      const { cage, got } = await cageConnection(run.socket);
      const index = run.received.length;
      let cageBytes = Buffer.alloc(0);
      const expected: Buffer[] = [];
      for (let k = 1 + random.int(5); k > 0; k--) {
        const id = xid++;
        const bytes = fragmented(callBody(id, PROCEDURES[random.int(PROCEDURES.length)]!, random), random);
        cageBytes = Buffer.concat([cageBytes, bytes]);
        await piecewise(cage, bytes, random);
        await until(
          () => sent.has(id) && got().length === Buffer.concat([...expected, sent.get(id)!]).length,
          5000,
          () => `seed ${seed} round ${round} xid ${id}: replied ${sent.has(id)}, the cage got ${got().length} of ${Buffer.concat([...expected, sent.get(id) ?? Buffer.alloc(0)]).length}; the proxy got ${run.received[index]?.length} of ${cageBytes.length} (${new WholeRecords().feed(run.received[index] ?? Buffer.alloc(0)).map((r) => r.readUInt32BE(0).toString(16)).join(' ')}); last reply ${sent.get(id)?.toString('hex').slice(0, 120)}; refusals ${run.refusals.join()} gone ${run.gone.join()}`,
        );
        expected.push(sent.get(id)!);
      }
      expect(got(), `seed ${seed}, round ${round}`).toEqual(Buffer.concat(expected));
      const toProxy = new WholeRecords().feed(run.received[index]!).filter((r) => r.readUInt32BE(0) < 0xc1050000);
      expect(Buffer.concat(toProxy), `seed ${seed}, round ${round}`).toEqual(Buffer.concat(new WholeRecords().feed(cageBytes)));
      cage.destroy();
    }
    expect(run.gone).toEqual([]);
    expect(run.refusals).toEqual([]);
    // Questions were asked, and answered (to the supervisor alone).
    expect(answers.filter((a) => a !== null).length).toBeGreaterThan(0);
  }, 240_000);

  it.skipIf(program === null)('random: a cage and a hostile proxy sending marks and bytes at random never end the relay, and a clean connection is served after', async () => {
    const random = generator(seed + 1);
    /** The xids the cage used lately: the hostile proxy answers under them too (refusals, held). */
    const used: number[] = [];
    let hostile = true;
    const run = await relayRun(dir, program!, `random-${name.length}`, (socket) => {
      // The hostile proxy: marks and bytes at random, replies under the cage's numbers, some refusals.
      if (!hostile) return;
      void (async () => {
        for (let n = random.int(6); n > 0 && !socket.destroyed; n--) {
          const kind = random.int(4);
          const xid = used.length > 0 ? used[random.int(used.length)]! : random.int(2 ** 32);
          const bytes = kind === 0 ? random.bytes(1 + random.int(300)) : fragmented(replyBody(xid, kind === 1 ? 0 : random.int(2) ? CKR_OBJECT_HANDLE_INVALID : 0, random.bytes(random.int(kind === 3 ? 70_000 : 100))), random);
          await piecewise(socket, bytes, random);
        }
      })();
    }, (ask) => ({ call: () => undefined, reply: () => void (random.int(2) === 0 && ask(question(0xc1060000 + random.int(1000)))) }));
    for (let round = 0; round < 200; round++) {
      const { cage } = await cageConnection(run.socket);
      for (let n = 1 + random.int(6); n > 0 && !cage.destroyed; n--) {
        const xid = random.int(4) === 0 && used.length > 0 ? used[random.int(used.length)]! : random.int(2 ** 32);
        used.push(xid);
        if (used.length > 32) used.shift();
        const kind = random.int(4);
        const bytes = kind === 0 ? random.bytes(1 + random.int(200)) : kind === 1 ? Buffer.concat([markOf(random.int(2 ** 31), random.int(2) === 0), random.bytes(random.int(50))]) : fragmented(callBody(xid, PROCEDURES[random.int(PROCEDURES.length)]!, random), random);
        await piecewise(cage, bytes, random);
      }
      await new Promise((r) => setTimeout(r, random.int(3)));
      cage.destroy();
      expect(run.gone, `seed ${seed + 1}, round ${round}`).toEqual([]);
    }
    // Still the same relay, serving: a clean call gets its reply.
    await new Promise((r) => setTimeout(r, 100));
    expect(run.gone).toEqual([]);
    hostile = false;
    await new Promise((r) => setTimeout(r, 200));
    const before = run.proxies.length;
    const { cage, got } = await cageConnection(run.socket);
    await until(() => run.proxies.length > before);
    const proxy = run.proxies.at(-1)!;
    const records = new WholeRecords();
    proxy.on('data', (chunk: Buffer) => {
      for (const body of records.feed(chunk)) proxy.write(fragmented(replyBody(body.readUInt32BE(0), 0, Buffer.from('clean')), random));
    });
    cage.write(fragmented(callBody(7, 1, random), random));
    await until(() => new WholeRecords().feed(got()).length === 1);
    expect(new WholeRecords().feed(got())[0]).toEqual(replyBody(7, 0, Buffer.from('clean')));
    expect(run.gone).toEqual([]);
  }, 240_000);
});
