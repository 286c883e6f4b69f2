/**
 * "Report an anomaly", in everyday use: the user's few words are journaled with the level in
 * front, made one plain line (no control or direction characters) of 280 characters at most, and
 * read back by `cloison audit tail`; what is forwarded off the workstation carries only their
 * length, never the words.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardable } from '../audit/journalForwarder';
import { runCli } from '../cli/cloison';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';

describe('report an anomaly', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(twoLevelPolicy({ low: vncCage('/nonexistent/low.sock'), high: vncCage('/nonexistent/high.sock') }));
  });
  afterAll(async () => t?.stop());

  it('journals the words with the level in front; audit tail shows them; the forwarded copy does not', async () => {
    expect(await t.rpc.call('focus.set', { level: 'high' })).toMatchObject({ ok: true });
    const said = 'Un bandeau vert\u202e dans la cage Haut\u0007 !\nIl demandait mon mot de passe';
    expect(await t.rpc.call('report.anomaly', { text: said })).toMatchObject({ ok: true });
    const record = t.records().at(-1)!;
    expect(record).toMatchObject({ kind: 'user.report', actor: 'user', level: 'high', text: 'Un bandeau vert dans la cage Haut ! Il demandait mon mot de passe' });

    const out: string[] = [];
    expect(runCli(['audit', 'tail', '-n', '1', join(t.root, 'state', 'audit.jsonl')], (s) => out.push(s), () => undefined)).toBe(0);
    expect(out.join('\n')).toContain('Il demandait mon mot de passe');

    const forwarded = forwardable(record as never, (text) => `keyed:${text.length}`);
    expect(forwarded).not.toHaveProperty('text');
    expect(forwarded).toMatchObject({ kind: 'user.report', level: 'high', textLength: 65, textFingerprint: 'keyed:65' });

    expect(await t.rpc.call('report.anomaly', { text: 'x'.repeat(281) })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});
