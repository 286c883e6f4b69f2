/**
 * The file broker with two real cages, driven over the supervisor's RPC like the shell drives it:
 * what lands, where, byte for byte; every hostile case refused with its reason and nothing
 * half-written; the journal's keyed fingerprints match the files.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilesConfirmRequest, TransferResult } from '../../shared/rpc';
import { readHead, verifyJournal } from '../audit/auditJournal';
import { contentFingerprint, keyPathOf, readJournalKeys } from '../audit/journalKey';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { testRoot } from '../testing/realCage';
import { answerAfterReading, rpcClient, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const POLICY = twoLevelPolicy(
  { low: bwrapCage({ uid: 59811 }), high: bwrapCage({ uid: 59812 }) },
  `files:
  up:
    maxFileBytes: 120000000
    scanner: [sh, -c, 'if grep -q EICAR-TEST "$0"; then echo "infected: EICAR-TEST"; exit 1; fi']
`,
);

describe('file broker (real cages)', () => {
  const root = testRoot();
  let sup: Supervisor;
  let shell: RpcClient;
  const home = (level: string) => join(root, 'state', 'cages', level, 'home');
  const incoming = () => join(home('high'), 'Incoming', 'low');
  const put = (name: string, content: string | Buffer) => {
    writeFileSync(join(home('low'), name), content);
    chmodSync(join(home('low'), name), 0o644);
  };

  beforeAll(async () => {
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
    await sup.start();
    shell = await rpcClient(sup.rpcSocketPath);
  });
  afterAll(async () => {
    shell?.close();
    await sup?.stop();
  });

  /** Transfers, answering the trusted dialog with `accept`; resolves with the results and the question. */
  async function transfer(paths: string[], accept = true, extra: Record<string, unknown> = {}) {
    const asked = new Promise<FilesConfirmRequest>((resolve) => shell.events.once('onConfirmRequest', resolve));
    const pending = shell.call('files.transfer', { from: 'low', to: 'high', paths, ...extra });
    const question = await Promise.race([asked, pending.then(() => null)]);
    if (question) await answerAfterReading(shell, { id: question.id, accept });
    const r = await pending;
    return { r, question };
  }

  const partials = () => (existsSync(incoming()) ? readdirSync(incoming()).filter((n) => n.startsWith('.cloison-partial-')) : []);

  it('copies a file from low into high ~/Incoming/low byte for byte, after the user confirms', async () => {
    const content = Buffer.from('%PDF-1.7\n' + 'données '.repeat(5000));
    put('rapport.pdf', content);
    const { r, question } = await transfer(['rapport.pdf']);
    expect(question).toMatchObject({ kind: 'files', from: 'low', to: 'high', direction: 'up', files: [{ name: 'rapport.pdf', size: content.length, type: 'pdf' }], totalBytes: content.length });
    expect(r).toMatchObject({ ok: true, result: { results: [{ outcome: 'copied', landedAs: 'rapport.pdf', sha256: createHash('sha256').update(content).digest('hex') }] } });
    expect(readFileSync(join(incoming(), 'rapport.pdf'))).toEqual(content);
    expect(existsSync(join(home('low'), 'Incoming'))).toBe(false); // nothing lands in low
    expect(readFileSync(join(home('low'), 'rapport.pdf'))).toEqual(content); // the source is untouched
  });

  it('never overwrites: a name collision gets a suffix', async () => {
    const { r } = await transfer(['rapport.pdf']);
    expect(r.result.results[0]).toMatchObject({ outcome: 'copied', landedAs: 'rapport (1).pdf' });
    expect(readdirSync(incoming()).sort()).toEqual(['rapport (1).pdf', 'rapport.pdf']);
  });

  it('copies nothing when the user refuses', async () => {
    put('notes.txt', 'plain notes');
    const { r } = await transfer(['notes.txt'], false);
    expect(r.result.results[0]).toMatchObject({ outcome: 'refused', reason: 'refused by the user' });
    expect(existsSync(join(incoming(), 'notes.txt'))).toBe(false);
  });

  it('refuses every hostile path with its reason, before asking, and leaves nothing behind', async () => {
    symlinkSync(home('high'), join(home('low'), 'to-high-home'));
    symlinkSync('/etc/shadow', join(home('low'), 'shadow-link'));
    mkdirSync(join(home('low'), 'linkdir-parent'));
    symlinkSync(home('high'), join(home('low'), 'linkdir-parent', 'in'));
    execFileSync('mkfifo', [join(home('low'), 'pipe')]);
    put('tool', readFileSync('/usr/bin/true'));
    put('eicar.txt', 'X5O!P%@AP EICAR-TEST file');
    put('empty.txt', '');
    const { r, question } = await transfer(['to-high-home/secret', 'shadow-link', 'linkdir-parent/in/x', '../high/home/x', '/etc/passwd', 'pipe', 'tool', 'missing.txt', 'eicar.txt', 'empty.txt']);
    const byPath = Object.fromEntries((r.result.results as TransferResult[]).map((x) => [x.path, x]));
    expect(byPath['to-high-home/secret']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('symbolic link') });
    expect(byPath['shadow-link']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('symbolic link') });
    expect(byPath['linkdir-parent/in/x']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('symbolic link') });
    expect(byPath['../high/home/x']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('".." leaves the home') });
    expect(byPath['/etc/passwd']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('absolute paths') });
    expect(byPath.pipe).toMatchObject({ outcome: 'refused', reason: 'not a regular file (fifo)' });
    expect(byPath.tool).toMatchObject({ outcome: 'refused', type: 'elf', reason: expect.stringContaining('content is elf') });
    expect(byPath['missing.txt']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('no such file') });
    expect(byPath['eicar.txt']).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('scanner refused the file: infected: EICAR-TEST') });
    expect(byPath['empty.txt']).toMatchObject({ outcome: 'copied', size: 0, type: 'empty' });
    // The dialog listed the refused files with their reasons (the scanner judged the staged copy
    // before asking), and only the others as crossing.
    expect(question!.files.map((f) => f.name)).toEqual(['empty.txt']);
    expect(question!.refused).toHaveLength(9);
    expect(readdirSync(incoming()).sort()).toEqual(['empty.txt', 'rapport (1).pdf', 'rapport.pdf']);
    expect(partials()).toEqual([]);
  });

  it('refuses a file over the size limit without reading it', async () => {
    execFileSync('truncate', ['-s', '130M', join(home('low'), 'huge.txt')]); // sparse: no time spent writing it
    const { r, question } = await transfer(['huge.txt']);
    expect(question).toBeNull(); // nothing left to ask about
    expect(r.result.results[0]).toMatchObject({ outcome: 'refused', size: 136314880, reason: '136314880 bytes is over the 120000000-byte limit per file' });
    expect(existsSync(join(incoming(), 'huge.txt'))).toBe(false);
  });

  it('refuses a file that grows while being copied, and leaves no partial file', async () => {
    put('growing.txt', 'start\n'.repeat(2_000_000)); // 12 MB, still being appended to
    const writer = spawn('sh', ['-c', `while true; do echo more >> '${join(home('low'), 'growing.txt')}'; done`]);
    await new Promise((r) => setTimeout(r, 50));
    const { r } = await transfer(['growing.txt']);
    writer.kill('SIGKILL');
    expect(r.result.results[0]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/grew|changed/) });
    expect(existsSync(join(incoming(), 'growing.txt'))).toBe(false);
    expect(partials()).toEqual([]);
  });

  it('cancels in the middle of a large file and leaves no partial file', async () => {
    put('large.txt', Buffer.alloc(100 * 1024 * 1024, 0x61));
    let asked = false;
    shell.events.once('onConfirmRequest', () => (asked = true));
    const pending = shell.call('files.transfer', { from: 'low', to: 'high', paths: ['large.txt'] });
    // The shell is told how far the copy went (staging, then the commit); the user stops it half-way.
    expect(await shell.next('onTransferProgress')).toMatchObject({ file: 'large.txt', totalBytes: 2 * 100 * 1024 * 1024, doneBytes: expect.any(Number) });
    expect(await shell.call('files.cancel', {})).toMatchObject({ ok: true, result: { cancelled: true } });
    const r = await pending;
    expect(r.result.results[0]).toMatchObject({ outcome: 'cancelled' });
    expect(asked).toBe(false); // stopped while staging: nothing was left to ask about
    expect(existsSync(join(incoming(), 'large.txt'))).toBe(false);
    expect(partials()).toEqual([]);
  });

  it('refuses high → low by the default policy, also when the RPC is called directly', async () => {
    writeFileSync(join(home('high'), 'secret.txt'), 'TOP SECRET');
    const r = await shell.call('files.transfer', { from: 'high', to: 'low', paths: ['secret.txt'], justification: 'because' });
    expect(r).toMatchObject({ ok: true, result: { results: [{ outcome: 'denied', reason: expect.stringContaining('forbids down') }] } });
    expect(existsSync(join(home('low'), 'Incoming'))).toBe(false);
  });

  it('journals each file with a keyed fingerprint that matches what landed, intent before outcome, and verifies', () => {
    const path = join(root, 'state', 'audit.jsonl');
    const text = readFileSync(path, 'utf8');
    const records = text.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.kind === 'file.transfer');
    const copied = records.filter((r) => r.decision === 'copied');
    const keys = readJournalKeys(keyPathOf(path))!;
    for (const r of copied) {
      const landed = readFileSync(join(incoming(), r.landedAs));
      expect(r.fingerprint).toBe(contentFingerprint(keys, createHash('sha256').update(landed).digest('hex')));
      expect(text).not.toContain(createHash('sha256').update(landed).digest('hex')); // never a plain hash of content
    }
    // Intent before effect: every copied file was approved (journaled) first.
    for (const r of copied) expect(records.findIndex((x) => x.name === r.name && x.decision === 'approved')).toBeLessThan(records.indexOf(r));
    expect(records.find((r) => r.name === 'eicar.txt')).toMatchObject({ decision: 'refused', scanner: 'rejected' });
    expect(records.find((r) => r.name === 'secret.txt')).toMatchObject({ decision: 'denied', direction: 'down', justification: 'because' });
    expect(text).not.toContain('données');
    expect(text).not.toContain('TOP SECRET');
    expect(verifyJournal(text, readHead(path))).toMatchObject({ ok: true });
  });
});
