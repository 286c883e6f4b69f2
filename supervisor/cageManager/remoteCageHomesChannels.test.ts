/**
 * The part's channels to a level's file helpers (remoteCageHomes.ts), with a stand-in manager (its
 * `files.helper` answers recorded) and stand-in helpers that never answer (a hung stat, a read
 * in progress). The real helpers and manager: remoteCageHomes.test.ts.
 *
 * Seen before the fixes: after a reload changing a level's cage uid, the part kept asking with the
 * old uid (the manager refuses any other: every act on that level failed until the part restarted);
 * a stat timing out closed the level's one channel and ended the read in progress on it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapUidIn } from '../cages/cageFleet';
import { parsePolicy } from '../policy/policyLoader';
import { removeTestRoot, testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import type { ManagerRequester } from './managerLink';
import { remoteCageHomes } from './remoteCageHomes';
import type { HandedSockets } from './socketHandOver';

const policyWith = (lowUid: number) => parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: lowUid }), high: bwrapCage({ uid: lowUid + 1 }) }), 'p.yaml');

let root: string;
let server: Server;
/** The helpers' ends, in the order the part connected; each with the lines it was sent. */
const helpers: Array<{ socket: Socket; lines: string[]; closed: boolean }> = [];

beforeAll(async () => {
  root = testRoot('cloison-rchc-');
  server = createServer((socket) => {
    const helper = { socket, lines: [] as string[], closed: false };
    helpers.push(helper);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => helper.lines.push(...d.split('\n').filter(Boolean)));
    socket.on('close', () => (helper.closed = true));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(join(root, 'helpers.sock'), r));
});

afterAll(async () => {
  for (const h of helpers) h.socket.destroy();
  await new Promise((r) => server.close(r));
  removeTestRoot(root);
});

/** The manager's hand-over, stood in for: a connection to the stand-in helpers. */
const handed = {
  take: async () => {
    const socket = connect(join(root, 'helpers.sock'));
    await new Promise((r) => socket.once('connect', r));
    return socket;
  },
} as unknown as HandedSockets;

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
};

describe('the part\'s file helper channels', () => {
  it('asks for a level\'s helper with the uid the policy gives it now, after a reload changed it', async () => {
    let policy = policyWith(58566);
    const asked: number[] = [];
    const client: ManagerRequester = {
      request: async (req: unknown) => {
        const uid = (req as { uid: number }).uid;
        asked.push(uid);
        if (uid !== bwrapUidIn(policy.levels, 'low')) throw new Error(`uid ${uid} is not low's`);
        throw new Error('no helper in this test'); // answered at once: what matters is the uid asked with
      },
    } as unknown as ManagerRequester;
    const homes = remoteCageHomes({ client, handed, policy: () => policy });
    expect((await homes.of('low')!.run(['stat', 'Downloads'])).stderr).toMatch(/no helper in this test/);
    policy = policyWith(58576);
    const after = await homes.of('low')!.run(['stat', 'Downloads']);
    expect(asked.at(-1)).toBe(58576);
    expect(after.stderr).toMatch(/no helper in this test/);
    expect(after.stderr).not.toMatch(/is not low's/);
    homes.close();
  }, 30_000);

  it('a stat timing out ends no read in progress on the level', async () => {
    helpers.length = 0;
    const client = { request: async () => ({ connection: 1 }) } as unknown as ManagerRequester;
    const homes = remoteCageHomes({ client, handed, policy: () => policyWith(58586) });
    const reading = homes.of('low')!.read('Outbox/report.pdf', 'identity');
    let readEnded = false;
    void reading.exited.then(() => (readEnded = true));
    await until(() => helpers.some((h) => h.lines.some((l) => l.includes('"read"'))));
    const stat = await homes.of('low')!.run(['stat', 'Downloads']); // its helper never answers: timed out
    expect(stat.code).not.toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(readEnded).toBe(false);
    expect(helpers.find((h) => h.lines.some((l) => l.includes('"read"')))!.closed).toBe(false);
    homes.close();
  }, 30_000);
});
