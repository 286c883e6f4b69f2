import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/cloison';
import { FileAuditJournal, hashRecord, headPathOf, readHead, verifyJournal } from './auditJournal';
import { rmSync } from 'node:fs';

function journalWith(n: number): { path: string; lines: () => string[] } {
  const path = join(mkdtempSync(join(tmpdir(), 'cloison-audit-')), 'audit.jsonl');
  const j = new FileAuditJournal(path);
  for (let i = 0; i < n; i++) j.append('level.switch', 'user', { from: i % 2 ? 'high' : 'low', to: i % 2 ? 'low' : 'high' });
  j.close();
  return { path, lines: () => readFileSync(path, 'utf8').trimEnd().split('\n') };
}

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

describe('audit journal', () => {
  it('chains records: each holds the previous hash; verify passes', () => {
    const { path, lines } = journalWith(4);
    const records = lines().map((l) => JSON.parse(l));
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records[0].prev).toBe('0'.repeat(64));
    for (let i = 1; i < 4; i++) expect(records[i].prev).toBe(records[i - 1].hash);
    expect(verifyJournal(readFileSync(path, 'utf8'))).toMatchObject({ ok: true, count: 4 });
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 0, out: expect.stringContaining('4 records, chain intact') });
  });

  it('resumes the chain when reopened', () => {
    const { path } = journalWith(2);
    const j = new FileAuditJournal(path);
    j.append('cage.running', 'supervisor', { level: 'low' });
    j.close();
    expect(verifyJournal(readFileSync(path, 'utf8'))).toMatchObject({ ok: true, count: 3 });
  });

  it('finds an edited record', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    l[1] = l[1]!.replace('"to":"low"', '"to":"high"');
    writeFileSync(path, l.join('\n') + '\n');
    expect(verifyJournal(readFileSync(path, 'utf8'))).toEqual({ ok: false, line: 2, error: 'line 2 was edited (hash mismatch)' });
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 1, err: expect.stringContaining('line 2 was edited') });
  });

  it('finds a removed record, including the last one', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    writeFileSync(path, [l[0], l[2]].join('\n') + '\n');
    expect(verifyJournal(readFileSync(path, 'utf8'))).toMatchObject({ ok: false, line: 2 });
    // Cutting the tail leaves a valid chain; the head file beside the journal gives it away.
    writeFileSync(path, [l[0], l[1]].join('\n') + '\n');
    expect(verifyJournal(readFileSync(path, 'utf8'), readHead(path))).toMatchObject({ ok: false, error: expect.stringMatching(/removed from the end/) });
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 1, err: expect.stringContaining('head names record 3') });
    expect(() => new FileAuditJournal(path)).toThrow(/removed from the end/);
    rmSync(headPathOf(path));
    expect(verifyJournal(readFileSync(path, 'utf8'), readHead(path))).toMatchObject({ ok: true, count: 2 });
  });

  it('finds swapped records', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    writeFileSync(path, [l[0], l[2], l[1]].join('\n') + '\n');
    expect(verifyJournal(readFileSync(path, 'utf8'))).toMatchObject({ ok: false, line: 2, error: expect.stringMatching(/removed or reordered/) });
  });

  it('finds a record rewritten with a recomputed own hash (chain broken after it)', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    const forged = JSON.parse(l[0]!);
    forged.to = 'low';
    forged.hash = hashRecord(forged);
    writeFileSync(path, [JSON.stringify(forged), l[1], l[2]].join('\n') + '\n');
    expect(verifyJournal(readFileSync(path, 'utf8'))).toMatchObject({ ok: false, line: 2, error: expect.stringMatching(/chain broken/) });
  });

  it('refuses to append to a journal that does not verify', () => {
    const { path, lines } = journalWith(2);
    writeFileSync(path, lines()[1] + '\n');
    rmSync(headPathOf(path));
    expect(() => new FileAuditJournal(path)).toThrow(/fails verification/);
  });

  it('tails and exports records, refusing a journal that does not verify', () => {
    let now = Date.parse('2026-11-27T08:00:00Z');
    const path = join(mkdtempSync(join(tmpdir(), 'cloison-audit-')), 'audit.jsonl');
    const j = new FileAuditJournal(path, () => new Date((now += 60_000)));
    for (let i = 0; i < 5; i++) j.append('level.switch', 'user', { n: i });
    j.close();
    const tail = cli(['audit', 'tail', '-n', '2', path]);
    expect(tail.code).toBe(0);
    expect(tail.out.split('}').filter(Boolean)).toHaveLength(2);
    expect(tail.out).toContain('"n":4');
    const exported = cli(['audit', 'export', '--since', '2026-11-27T08:03:00Z', path]);
    expect(exported.code).toBe(0);
    expect((exported.out.match(/"seq":/g) ?? []).length).toBe(3);
    expect(cli(['audit', 'export', '--since', 'yesterday-ish', path])).toMatchObject({ code: 64, err: expect.stringContaining('--since takes a date') });
    writeFileSync(path, readFileSync(path, 'utf8').replace('"n":2', '"n":9'));
    expect(cli(['audit', 'tail', path])).toMatchObject({ code: 1, err: expect.stringContaining('was edited') });
  });

  it('says clearly when the file is not a journal', () => {
    expect(verifyJournal('not json\n')).toEqual({ ok: false, line: 1, error: 'line 1 is not JSON' });
    expect(cli(['audit', 'verify', '/nonexistent/audit.jsonl'])).toMatchObject({ code: 1, err: expect.stringContaining('cannot read') });
  });
});
