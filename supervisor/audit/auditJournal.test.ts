import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/cloison';
import { FileAuditJournal, hashRecord, headPathOf, readHead, verifyJournal } from './auditJournal';
import { keyPathOf, readJournalKeys } from './journalKey';

function journalWith(n: number): { path: string; lines: () => string[] } {
  const path = join(testRoot('cloison-audit-'), 'audit.jsonl');
  const j = new FileAuditJournal(path);
  for (let i = 0; i < n; i++) j.append('level.switch', 'user', { from: i % 2 ? 'high' : 'low', to: i % 2 ? 'low' : 'high' });
  j.close();
  return { path, lines: () => readFileSync(path, 'utf8').trimEnd().split('\n') };
}

const keysOf = (path: string) => readJournalKeys(keyPathOf(path));
const verify = (path: string) => verifyJournal(readFileSync(path, 'utf8'), readHead(path), keysOf(path));

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

/** What someone who can write the journal and its head, but not read the key, would do. */
function forgeWithoutKey(path: string, edit: (records: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): void {
  let prev = '0'.repeat(64);
  const records = edit(readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))).map((r, i) => {
    const forged: Record<string, unknown> = { ...r, seq: i + 1, prev };
    delete forged.alg; // a plain hash is all they can compute
    forged.hash = hashRecord(forged);
    prev = forged.hash as string;
    return forged;
  });
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(headPathOf(path), JSON.stringify({ seq: records.length, hash: prev }) + '\n');
}

describe('audit journal', () => {
  it('chains keyed records: each holds the previous one; verify with the installation key passes', () => {
    const { path, lines } = journalWith(4);
    const records = lines().map((l) => JSON.parse(l));
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records[0].prev).toBe('0'.repeat(64));
    for (let i = 1; i < 4; i++) expect(records[i].prev).toBe(records[i - 1].hash);
    expect(records.every((r) => r.alg === 'hmac-sha256')).toBe(true);
    expect(verify(path)).toMatchObject({ ok: true, count: 4, authenticated: true });
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 0, out: expect.stringContaining('4 records, chain intact, authenticated') });
  });

  it('keeps its secret beside it, root-only, made once', () => {
    const { path } = journalWith(1);
    const key = keyPathOf(path);
    expect(existsSync(key)).toBe(true);
    expect(readFileSync(key).length).toBe(32);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const before = readFileSync(key);
    new FileAuditJournal(path).close();
    expect(readFileSync(key)).toEqual(before);
  });

  it('resumes the chain when reopened', () => {
    const { path } = journalWith(2);
    const j = new FileAuditJournal(path);
    j.append('cage.running', 'supervisor', { level: 'low' });
    j.close();
    expect(verify(path)).toMatchObject({ ok: true, count: 3 });
  });

  it('attack: an edit with every plain hash and the head recomputed, without the key, is found', () => {
    const { path } = journalWith(3);
    forgeWithoutKey(path, (records) => records.map((r, i) => (i === 1 ? { ...r, to: 'high' } : r)));
    expect(verify(path)).toMatchObject({ ok: false, line: 1, error: expect.stringMatching(/rewritten without it/) });
    expect(() => new FileAuditJournal(path)).toThrow(/fails verification/);
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 1 });
  });

  it('attack: an edit that keeps the record\'s own HMAC field is found by its HMAC', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    l[1] = l[1]!.replace('"to":"low"', '"to":"high"');
    writeFileSync(path, l.join('\n') + '\n');
    expect(verify(path)).toEqual({ ok: false, line: 2, error: 'line 2 was edited or forged (its HMAC does not match the installation key)' });
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 1, err: expect.stringContaining('line 2 was edited or forged') });
    // Without the key, only the links are checked, and the command says it could not authenticate.
    chmodSync(keyPathOf(path), 0o000);
    const noKey = cli(['audit', 'verify', '--key', join(dirname(path), 'absent.key'), path]);
    expect(noKey).toMatchObject({ code: 1, err: expect.stringContaining('cannot read the installation key') });
  });

  it('attack: records removed from the end, the head rewritten without the key, are found', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    writeFileSync(path, [l[0], l[1]].join('\n') + '\n');
    expect(verify(path)).toMatchObject({ ok: false, error: expect.stringMatching(/removed from the end/) });
    const last = JSON.parse(l[1]!) as { hash: string };
    writeFileSync(headPathOf(path), JSON.stringify({ seq: 2, hash: last.hash }) + '\n');
    expect(verify(path)).toMatchObject({ ok: false, error: 'the head file was rewritten without the installation key' });
    expect(() => new FileAuditJournal(path)).toThrow(/head file was rewritten/);
  });

  it('attack: removed, reordered and appended records are found', () => {
    const { path, lines } = journalWith(3);
    const l = lines();
    writeFileSync(path, [l[0], l[2]].join('\n') + '\n');
    expect(verify(path)).toMatchObject({ ok: false, line: 2 });
    writeFileSync(path, [l[0], l[2], l[1]].join('\n') + '\n');
    expect(verify(path)).toMatchObject({ ok: false, line: 2, error: expect.stringMatching(/removed or reordered/) });
    const appended = { ...JSON.parse(l[2]!), seq: 4, prev: JSON.parse(l[2]!).hash, kind: 'forged' };
    writeFileSync(path, [...l, JSON.stringify(appended)].join('\n') + '\n');
    expect(verify(path)).toMatchObject({ ok: false, line: 4, error: expect.stringMatching(/HMAC/) });
  });

  it('sets a torn last line aside, says so in the journal, and goes on', () => {
    const { path } = journalWith(3);
    writeFileSync(path, readFileSync(path, 'utf8') + '{"seq":4,"time":"2026-12-0'); // a crash mid-write
    const j = new FileAuditJournal(path);
    j.append('cage.running', 'supervisor', { level: 'low' });
    j.close();
    const torn = readdirSync(dirname(path)).filter((n) => n.startsWith('audit.jsonl.torn-'));
    expect(torn).toHaveLength(1);
    expect(readFileSync(join(dirname(path), torn[0]!), 'utf8')).toBe('{"seq":4,"time":"2026-12-0');
    const records = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.kind)).toEqual(['level.switch', 'level.switch', 'level.switch', 'journal.torn', 'cage.running']);
    expect(records[3]).toMatchObject({ bytes: 26, quarantinedTo: torn[0] });
    expect(verify(path)).toMatchObject({ ok: true, count: 5 });
  });

  it('accepts a record whose head was not written yet (a crash between the two)', () => {
    const { path } = journalWith(3);
    const head = readHead(path)!;
    const j = new FileAuditJournal(path);
    j.append('level.switch', 'user', { from: 'low', to: 'high' });
    j.close();
    writeFileSync(headPathOf(path), JSON.stringify(head) + '\n'); // the head of record 3
    expect(verify(path)).toMatchObject({ ok: true, count: 4 });
  });

  it('still reads a journal from before keys, but no unkeyed record after a keyed one', () => {
    const path = join(testRoot('cloison-audit-'), 'audit.jsonl');
    const legacy = { seq: 1, time: '2026-11-01T00:00:00.000Z', kind: 'policy.load', actor: 'supervisor', prev: '0'.repeat(64) };
    writeFileSync(path, JSON.stringify({ ...legacy, hash: hashRecord(legacy) }) + '\n');
    const j = new FileAuditJournal(path);
    j.append('cage.running', 'supervisor', { level: 'low' });
    j.close();
    const records = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.kind)).toEqual(['policy.load', 'journal.keyed', 'cage.running']);
    expect(records[1]).toMatchObject({ legacy: 1, alg: 'hmac-sha256' });
    expect(verify(path)).toMatchObject({ ok: true, count: 3, legacy: 1 });
    // The keyed part turned back into plain records: refused.
    forgeWithoutKey(path, (rs) => [...rs, { kind: 'forged', time: rs[0]!.time, actor: 'x' }]);
    expect(verify(path)).toMatchObject({ ok: false });
  });

  it('tails and exports records, refusing a journal that does not verify', () => {
    let now = Date.parse('2026-11-27T08:00:00Z');
    const path = join(testRoot('cloison-audit-'), 'audit.jsonl');
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

  it('says clearly when the file is not a journal, and when it cannot authenticate', () => {
    expect(verifyJournal('not json\n')).toEqual({ ok: false, line: 1, error: 'line 1 is not JSON' });
    expect(cli(['audit', 'verify', '/nonexistent/audit.jsonl'])).toMatchObject({ code: 1, err: expect.stringContaining('cannot read') });
    const { path } = journalWith(2);
    rmSync(keyPathOf(path));
    expect(cli(['audit', 'verify', path])).toMatchObject({ code: 2, out: expect.stringContaining('NOT authenticated') });
  });
});
