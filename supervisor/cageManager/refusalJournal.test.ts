/**
 * The bound on the manager's refusal records, on a real journal file: past the bound a window's
 * refusals are counted, the count written once when the window ends by itself, and the next window
 * journals again from its first refusal.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { waitFor } from '../testing/waitFor';
import { RefusalJournal, REFUSED_KIND } from './refusalJournal';

const dir = mkdtempSync(join(tmpdir(), 'cloison-refusals-'));
const journal = new FileAuditJournal(join(dir, 'audit.jsonl'));
afterAll(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

const records = () => readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);
const refusal = (op: string) => ({ actor: 'cloison', op, reason: 'no level "secret" in the running policy', peerUid: 1, peerPid: 2 });

describe('refusal records in a window', () => {
  it('journals the first of each op and gate, counts the rest when the window ends, then journals again', async () => {
    const refusals = new RefusalJournal(journal, { perKind: 3, total: 5, windowMs: 300 });
    for (let i = 0; i < 10; i++) refusals.record('policy', refusal('cage.start'));
    for (let i = 0; i < 10; i++) refusals.record('schema', refusal(`made.up.${i}`));
    // 3 cage.start, then 2 of the unknown ops (the 5 in all); the window has not ended.
    expect(records().map((r) => r.op)).toEqual(['cage.start', 'cage.start', 'cage.start', 'made.up.0', 'made.up.1']);
    await waitFor(() => records().length === 6, 'the count at the window\'s end');
    expect(records()[5]).toMatchObject({ op: '(many)', notJournaled: 15, byKind: 'cage.start policy: 7, (other) schema: 8' });
    refusals.record('policy', refusal('cage.start'));
    expect(records()).toHaveLength(7);
    expect(records()[6]).toMatchObject({ op: 'cage.start', peerUid: 1 });
    refusals.close();
    // Nothing dropped in that window: no count.
    expect(records()).toHaveLength(7);
  });
});
