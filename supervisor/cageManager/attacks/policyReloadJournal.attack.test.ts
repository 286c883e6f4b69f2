/**
 * Attack (#29 review): a compromised `cloison` part asks `policy.reload` without end, one after the
 * other (each answered before the next: nothing to coalesce, never past its lane, never BUSY). Each
 * is a full read and parse of root's policy file and a record in root's journal (fsync'd): unlike
 * the refusals (refusalJournal.ts: 16 per op and gate in a window, then one counting the rest),
 * nothing bounded them: seen, every reload journaled one by one (the part filling root's journal at
 * the rate the manager reads a file, the administrator's own reloads drowned). Now a repeat of the
 * outcome last journaled is counted, not written (its count goes with the next record); and since
 * the stalled-save attack (stalledSave.attack.test.ts) the part's request is refused, the file not read.
 */
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { FRAMED_CONNECTION_SOURCE, nodeProgramAs } from '../../testing/nodeProgramAs';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { ManagerPolicyReload } from '../managerPolicyReload';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58870 }), high: bwrapCage({ uid: 58871 }) });
const RELOADS = 3000;

/** The part: RELOADS policy.reload, each sent once the last is answered; prints the answers counted. */
const RELOADER = `${FRAMED_CONNECTION_SOURCE}
const [path, count] = process.argv.slice(1);
const n = Number(count);
const codes = {};
let sent = 0;
const s = framedConnection(path, (r) => {
  const code = r.ok ? (r.result.accepted ? 'accepted' : 'refused') : r.error.code;
  codes[code] = (codes[code] || 0) + 1;
  if (sent === n) { process.stdout.write(JSON.stringify({ codes })); process.exit(0); }
  s.write(frame(sent, { op: 'policy.reload' })); sent += 1;
}, (e) => { process.stdout.write(JSON.stringify({ error: e.code || e.message, codes })); process.exit(0); });
s.on('connect', () => { s.write(frame(sent, { op: 'policy.reload' })); sent += 1; });
`;

let manager: ServedManager;
let applied = 0;

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-reloadjournal-',
    policy: POLICY,
    executors: ({ root, journal }) => {
      writeFileSync(join(root, 'p.yaml'), POLICY);
      // Settled (saved two seconds ago): a file just written is answered "being written" (settledPolicyText.ts).
      utimesSync(join(root, 'p.yaml'), new Date(Date.now() - 2000), new Date(Date.now() - 2000));
      const reload = new ManagerPolicyReload({ file: join(root, 'p.yaml'), journal, apply: () => void (applied += 1), log: () => undefined });
      return { 'policy.reload': reload.executor() };
    },
    bounds: { refusalJournal: { windowMs: 600_000 } },
  });
});

afterAll(async () => {
  await manager?.close();
});

const reloads = () => nodeProgramAs<{ codes: Record<string, number>; error?: string }>(manager.cloison, RELOADER, [manager.socketPath, String(RELOADS)], 'the reloading part');

describe('a part asking policy.reload without end, one at a time', () => {
  it('a part asking again and again writes one record into root\'s journal, not one a request (seen before: 3000 records for 3000 requests)', async () => {
    const outcome = await reloads();
    const records = readFileSync(manager.journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const reloadRecords = records.filter((r) => r.kind === 'policy.reload');
    console.log(`${RELOADS} reloads asked by the part: answers ${JSON.stringify(outcome.codes)}; ${reloadRecords.length} policy.reload records, ${statSync(manager.journal.path).size} bytes in root's journal; the policy applied ${applied} times`);
    // The part may not reload the manager's policy at all now (the moment is the administrator's: managerPolicyReload.ts).
    expect(outcome.codes).toEqual({ refused: RELOADS });
    // The same refusal each time: the first journaled, the repeats not.
    expect(reloadRecords).toHaveLength(1);
    expect(reloadRecords[0]).toMatchObject({ kind: 'policy.reload', decision: 'refused', asker: 'the cloison part' });
    expect(applied).toBe(0);
  }, 120_000);
});
