/**
 * The cage manager's socket under load, as the `cloison` part meets it when one cage's X server
 * hangs (its Xvnc stopped by the cage itself): every clipboard read of that level holds its time
 * limit. Here the hung level is a stand-in executor that holds `high`'s requests until the test lets
 * them go; the socket, the peer check, the frames, the policy check and the part's account are real.
 *
 * What a safe manager does: one level's slow requests never cost another level its answers, a
 * request past the bound is answered BUSY (journaled once per burst) and the connection goes on;
 * the part's client queues what the bound would refuse, and tells a lost connection apart from an
 * answer of the manager.
 */
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { CageManagerClient, ManagerConnectionLost } from './cageManagerClient';
import type { RequestOf, RootRequest } from './requests';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58534 }), high: bwrapCage({ uid: 58535 }) });
const READ_HIGH: RootRequest = { op: 'xhelper.run', level: 'high', program: 'xclip', args: ['-selection', 'clipboard', '-o'] };
const PAINT_LOW: RootRequest = { op: 'xhelper.run', level: 'low', program: 'xsetroot', args: ['-solid', '#202020'] };

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let socketPath: string;
/** high's requests held until the test lets them go, as a hung X server holds them to the time limit. */
let hung: Array<() => void> = [];
const order: string[] = [];
const releaseHigh = () => {
  for (const go of hung.splice(0)) go();
};
/**
 * A long-pending op of the test's own choosing: `cage.vncSocket` held until the test ends the
 * "cage" stands for `cage.wait` (the default long-pending op), whose executor needs a real cage.
 */
const LONG_PENDING = new Set(['cage.vncSocket'] as const);
const WAIT_LOW: RootRequest = { op: 'cage.vncSocket', level: 'low' };
const WAIT_HIGH: RootRequest = { op: 'cage.vncSocket', level: 'high' };
const watching: Array<() => void> = [];
const endCages = () => {
  for (const end of watching.splice(0)) end();
};

function startServer(): Promise<void> {
  // Read once, as the manager holds its policy (a reading asks the name service about every uid).
  const parsed = parsePolicy(POLICY, 'p.yaml');
  const policy = () => parsed;
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: {
      'xhelper.run': async (req: RequestOf<'xhelper.run'>) => {
        if (req.level === 'high') await new Promise<void>((go) => hung.push(go));
        order.push(req.level);
        return { ran: req.level };
      },
      'cage.vncSocket': async () => {
        await new Promise<void>((end) => watching.push(end));
        return { ended: true };
      },
      // Answers at once: the manager saying a cage ended, which a lost connection must not look like.
      'cage.stop': async () => {
        throw new CloisonError('CAGE_UNAVAILABLE', 'cage low is not running');
      },
    },
    longPendingOps: LONG_PENDING,
  });
  return server.listen();
}

beforeAll(async () => {
  root = testRoot('cloison-cmbusy-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  await startServer();
});

afterAll(async () => {
  releaseHigh();
  endCages();
  await server?.close();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

/** A connection made by a real process of the `cloison` account, handed to this test (as the part holds its own). */
async function cloisonConnection(): Promise<Socket> {
  const child = spawn('setpriv', [`--reuid=${cloison.uid}`, `--regid=${cloison.gid}`, '--clear-groups', '--', process.execPath, '-e', `const s = require('node:net').connect(process.argv[1]); s.on('connect', () => process.send('connected', s, () => process.exit(0)));`, socketPath], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise<Socket>((resolve, reject) => {
    child.once('message', (_m, handle) => resolve(handle as Socket));
    child.once('exit', (code) => reject(new Error(`the cloison user's connection did not come (exit ${code})`)));
  });
}

describe('a hung level on the part\'s one connection, frames written by hand', () => {
  it('answers low while high\'s sixteen hang, refuses the excess BUSY (journaled once) and keeps the connection', async () => {
    hung = [];
    order.length = 0;
    const seen = refusals().length;
    const frames = [...Array.from({ length: 20 }, (_, i) => ({ json: { id: i + 1, request: READ_HIGH } })), { json: { id: 100, request: PAINT_LOW } }];
    // high's hang ends a while after low's answer (its time limit): until then only low may answer.
    const lowDone = setInterval(() => {
      if (order.includes('low')) {
        clearInterval(lowDone);
        setTimeout(releaseHigh, 1000);
      }
    }, 20);
    const outcome = await sendFramesAs(cloison, socketPath, frames);
    clearInterval(lowDone);
    releaseHigh();
    const replies = outcome.replies as Array<{ id: number; ok: boolean; result?: unknown; error?: { code: string; message: string } }>;
    console.log(`20 hung requests for high and one for low on one connection: ${replies.length} replies, closed: ${outcome.closed}, low's: ${JSON.stringify(replies.find((r) => r.id === 100) ?? null)}`);
    expect(outcome.closed, 'the connection stays open').toBe(false);
    const low = replies.findIndex((r) => r.id === 100);
    expect(replies[low]).toEqual({ id: 100, ok: true, result: { ran: 'low' } });
    // Before any of high's held requests ended: low did not wait for them.
    expect(replies.slice(0, low).every((r) => !r.ok)).toBe(true);
    const busy = replies.filter((r) => !r.ok);
    expect(busy.map((r) => r.id).sort((a, b) => a - b)).toEqual([17, 18, 19, 20]);
    for (const r of busy) expect(r.error).toMatchObject({ code: 'BUSY', message: expect.stringMatching(/16 .*in flight/) });
    expect(replies.filter((r) => r.ok && r.id <= 16)).toHaveLength(16);
    const journaled = refusals().slice(seen);
    expect(journaled, 'one journal line for the burst of four').toHaveLength(1);
    expect(journaled[0]).toMatchObject({ actor: 'cloison', op: 'xhelper.run', reason: expect.stringMatching(/busy/) });
  }, 30_000);

  it('keeps the long-pending waits out of the bound, in a bound of their own (4 per level)', async () => {
    hung = [];
    order.length = 0;
    const seen = refusals().length;
    const frames = [
      ...Array.from({ length: 5 }, (_, i) => ({ json: { id: 200 + i, request: WAIT_LOW } })),
      ...Array.from({ length: 16 }, (_, i) => ({ json: { id: i + 1, request: READ_HIGH } })),
      { json: { id: 100, request: PAINT_LOW } },
    ];
    const lowDone = setInterval(() => {
      if (order.includes('low')) {
        clearInterval(lowDone);
        setTimeout(() => (releaseHigh(), endCages()), 1000);
      }
    }, 20);
    const outcome = await sendFramesAs(cloison, socketPath, frames);
    clearInterval(lowDone);
    releaseHigh();
    endCages();
    const replies = outcome.replies as Array<{ id: number; ok: boolean; result?: unknown; error?: { code: string } }>;
    expect(outcome.closed).toBe(false);
    // The fifth wait answered BUSY at once, then low's paint, before any wait or read ended.
    expect(replies.slice(0, 2)).toEqual([
      { id: 204, ok: false, error: { code: 'BUSY', message: expect.stringMatching(/4 requests cage.vncSocket low in flight/) } },
      { id: 100, ok: true, result: { ran: 'low' } },
    ]);
    expect(replies.filter((r) => r.ok)).toHaveLength(4 + 16 + 1);
    expect(refusals().slice(seen)).toMatchObject([{ op: 'cage.vncSocket', reason: expect.stringMatching(/busy/) }]);
  }, 30_000);

  it('a peer that sends past the bound and never reads its BUSY answers is read no further: they do not pile up in root', async () => {
    hung = [];
    const peer = await cloisonConnection();
    peer.on('error', () => undefined);
    try {
      const frame = (id: number) => {
        const body = Buffer.from(JSON.stringify({ id, request: READ_HIGH }));
        const head = Buffer.alloc(4);
        head.writeUInt32BE(body.length);
        return Buffer.concat([head, body]);
      };
      // 20 000 requests (2 MB), the first 16 held, each other one an answer of ~200 bytes (4 MB) nobody reads.
      for (let i = 0; i < 20; i++) peer.write(Buffer.concat(Array.from({ length: 1000 }, (_, j) => frame(i * 1000 + j + 1))));
      // Until the manager has read them all (a manager that reads on regardless), or a while.
      for (let waited = 0; waited < 8000 && peer.writableLength > 0; waited += 100) await new Promise((r) => setTimeout(r, 100));
      const held = [...(server as unknown as { sockets: Set<Socket> }).sockets].reduce((sum, s) => sum + s.writableLength, 0);
      console.log(`answers held in the manager for a peer that does not read: ${held} bytes (requests not yet read: ${peer.writableLength} bytes)`);
      expect(held).toBeLessThan(1 << 20);
    } finally {
      peer.destroy();
      releaseHigh();
    }
  }, 30_000);

  it('still closes on what only a hostile peer sends (a frame over the size limit)', async () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1 << 30);
    const outcome = await sendFramesAs(cloison, socketPath, [{ bytes: head.toString('base64') }]);
    expect(outcome.closed).toBe(true);
  });
});

describe('the same through the part\'s client', () => {
  it('queues what the bound would refuse: low answered while high hangs, nothing refused, every request answered', async () => {
    hung = [];
    order.length = 0;
    const seen = refusals().length;
    const client = CageManagerClient.over(await cloisonConnection());
    try {
      const settled: string[] = [];
      const reads = Array.from({ length: 24 }, () => client.request(READ_HIGH).then((r) => (settled.push('high'), r)));
      const low = await client.request(PAINT_LOW);
      expect(low).toEqual({ ran: 'low' });
      expect(settled, 'high\'s requests still held when low is answered').toEqual([]);
      expect(hung.length, 'the client never sends more than the bound').toBe(16);
      releaseHigh();
      // The queued eight go out as slots free, and hang in turn until let go.
      await waitFor(() => hung.length === 8, 'the queued eight sent');
      expect(hung.length).toBe(8);
      releaseHigh();
      expect(await Promise.all(reads)).toEqual(Array.from({ length: 24 }, () => ({ ran: 'high' })));
      expect(refusals().slice(seen), 'nothing refused BUSY').toEqual([]);
    } finally {
      client.close();
    }
  }, 30_000);

  it('with the manager\'s long-pending ops: each level\'s wait pending, high\'s reads hung, low still answered', async () => {
    hung = [];
    const client = CageManagerClient.over(await cloisonConnection(), { longPendingOps: LONG_PENDING });
    try {
      const waits = [WAIT_LOW, WAIT_HIGH, ...Array.from({ length: 5 }, () => WAIT_LOW)].map((w) => client.request(w));
      const reads = Array.from({ length: 20 }, () => client.request(READ_HIGH));
      expect(await client.request(PAINT_LOW)).toEqual({ ran: 'low' });
      expect(watching.length, 'four waits of low and one of high sent, the rest queued').toBe(5);
      releaseHigh();
      await new Promise((r) => setTimeout(r, 300));
      releaseHigh();
      endCages();
      await new Promise((r) => setTimeout(r, 300));
      endCages();
      expect(await Promise.all(reads)).toHaveLength(20);
      expect(await Promise.all(waits)).toEqual(Array.from({ length: 7 }, () => ({ ended: true })));
    } finally {
      client.close();
    }
  }, 30_000);

  it('tells a lost connection from the manager\'s answer, and a new connection serves again', async () => {
    hung = [];
    const client = CageManagerClient.over(await cloisonConnection());
    let lost = false;
    client.onClose(() => (lost = true));
    const ended = await client.request({ op: 'cage.stop', level: 'low' }).catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(CloisonError);
    expect(ended).not.toBeInstanceOf(ManagerConnectionLost);
    expect(ended).toMatchObject({ code: 'CAGE_UNAVAILABLE' });
    const sent = Array.from({ length: 18 }, () => client.request(READ_HIGH).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 300));
    // The manager goes away (restarted): what was pending, sent or still queued, is "connection lost".
    await server.close();
    const failures = (await Promise.all(sent)) as ManagerConnectionLost[];
    for (const f of failures) expect(f).toBeInstanceOf(ManagerConnectionLost);
    expect(failures.map((f) => f.code)).toEqual(Array.from({ length: 18 }, () => 'CONNECTION_LOST'));
    expect(failures.filter((f) => f.sent)).toHaveLength(16);
    expect(lost).toBe(true);
    await expect(client.request(PAINT_LOW)).rejects.toBeInstanceOf(ManagerConnectionLost);
    releaseHigh();
    await startServer();
    const again = CageManagerClient.over(await cloisonConnection());
    try {
      expect(await again.request(PAINT_LOW)).toEqual({ ran: 'low' });
    } finally {
      again.close();
    }
  }, 30_000);
});
