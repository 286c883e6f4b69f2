/**
 * A compromised `cloison` part sends forbidden requests without end: each refusal was a record in
 * root's journal, each record a fsync'd write, so the part filled root's journal at will and held
 * the manager's loop on the disk. Here 20 000 of them on the manager's real socket (a real process
 * of a cloison-like account, a real journal, the real policy check): requests the policy refuses
 * (two ops), and requests of ops no schema knows, each named anew. Each must still be answered
 * refused and the part's next honest request answered; root's journal gets a bounded number of
 * records: the first of each op and gate in a window, then one counting the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { FRAMED_CONNECTION_SOURCE, nodeProgramAs } from '../../testing/nodeProgramAs';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import type { RequestOf } from '../requests';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58850 }), high: bwrapCage({ uid: 58851 }) });
const FORBIDDEN = 20_000;

/** The part: FORBIDDEN requests in one go, then an honest one; prints the answers' codes counted and the honest answer. */
const FLOODER = `${FRAMED_CONNECTION_SOURCE}
const [path, count] = process.argv.slice(1);
const forbidden = (i) => i % 10 === 9 ? { op: 'made.up.' + i }
  : i % 2 ? { op: 'xhelper.run', level: 'secret', program: 'xclip', args: ['-o'] }
  : { op: 'cage.start', level: 'low', uid: 0 };
const n = Number(count);
const codes = {};
let honest = null;
const s = framedConnection(path, (r) => {
  if (r.id === n) honest = r; else codes[r.ok ? 'ok' : r.error.code] = (codes[r.ok ? 'ok' : r.error.code] || 0) + 1;
  if (honest && Object.values(codes).reduce((a, b) => a + b, 0) === n) { process.stdout.write(JSON.stringify({ codes, honest })); process.exit(0); }
}, (e) => { process.stdout.write(JSON.stringify({ error: e.code || e.message, codes })); process.exit(0); });
s.on('connect', () => {
  for (let i = 0; i < n; i += 1000) s.write(Buffer.concat(Array.from({ length: Math.min(1000, n - i) }, (_, j) => frame(i + j, forbidden(i + j)))));
  s.write(frame(n, { op: 'xhelper.run', level: 'low', program: 'xsetroot', args: ['-solid', '#202020'] }));
});
`;

let manager: ServedManager;

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-refusalflood-',
    policy: POLICY,
    executors: () => ({ 'xhelper.run': async (req: RequestOf<'xhelper.run'>) => ({ ran: req.level }) }),
    // One window for the whole flood, however slow the machine; it ends when the manager closes.
    bounds: { refusalJournal: { windowMs: 600_000 } },
  });
});

afterAll(async () => {
  await manager?.close();
});

const flood = () => nodeProgramAs<{ codes: Record<string, number>; honest: unknown; error?: string }>(manager.cloison, FLOODER, [manager.socketPath, String(FORBIDDEN)], 'the flooding part');

describe('a part sending forbidden requests without end', () => {
  it('has each refused and its honest request answered; root journals a bounded number of records, then one counting the rest', async () => {
    const outcome = await flood();
    const journaled = manager.refusals();
    console.log(`${FORBIDDEN} forbidden requests: answers ${JSON.stringify(outcome.codes)}, the honest one ${JSON.stringify(outcome.honest)}; ${journaled.length} refusal records in root's journal before the window ended`);
    expect(outcome.codes).toEqual({ POLICY_DENIED: 18_000, BAD_REQUEST: 2_000 });
    expect(outcome.honest).toEqual({ id: FORBIDDEN, ok: true, result: { ran: 'low' } });
    // 16 per op and gate: cage.start and xhelper.run refused by the policy, the unknown ops by the schema.
    expect(journaled).toHaveLength(48);
    expect(journaled.filter((r) => r.op === 'cage.start')).toHaveLength(16);
    // When the window ends (here the manager closing), one record counts what was not journaled one by one.
    await manager.server.close();
    const count = manager.refusals().slice(48);
    expect(count).toHaveLength(1);
    expect(count[0]).toMatchObject({ actor: 'cloison', op: '(many)', notJournaled: FORBIDDEN - 48, byKind: expect.stringContaining('(other) schema: 1984') });
  }, 60_000);
});
