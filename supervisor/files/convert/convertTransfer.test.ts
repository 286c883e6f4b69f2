/**
 * `files.up.decision: convert` with two real cages, over the supervisor's RPC as the shell drives
 * it: a PDF carrying JavaScript lands in high only as `<name>.pdf` rebuilt from pixels (qpdf finds
 * it sound, no script in it), the trusted question shows its page count, size and thumbnails; a
 * source swapped while it is converted changes nothing; refusals carry their reason; the journal
 * holds both keyed fingerprints, the page count and the converter's verdict.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilesConfirmRequest } from '../../../shared/rpc';
import { answerAfterReading } from '../../testing/rpcClient';
import { startTestSupervisor, type TestSupervisor } from '../../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { hostile } from './hostileDocuments';
import { DOCUMENT_IN_SANDBOX } from './pixelSandbox';

const UIDS = { low: 58607, high: 58608 };

describe('files up converted (real cages, real converter)', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }, 'files:\n  up: { decision: convert }\n'));
  });
  afterAll(async () => {
    await t?.stop();
  });

  const put = (name: string, content: Buffer) => {
    const path = join(t.home('low'), name);
    writeFileSync(path, content);
    chownSync(path, UIDS.low, UIDS.low);
    return path;
  };
  const incoming = () => join(t.home('high'), 'Incoming', 'low');

  it('a PDF with JavaScript lands only as a PDF of its pixels, after the user saw its pages', async () => {
    put('invoice.pdf', hostile.javascript());
    const rule = await t.rpc.call('files.rule', { from: 'low', to: 'high' });
    expect(rule.result).toMatchObject({ decision: 'convert', direction: 'up' });
    const asked = t.rpc.next('onConfirmRequest') as Promise<FilesConfirmRequest>;
    const transfer = t.rpc.call('files.transfer', { from: 'low', to: 'high', paths: ['invoice.pdf'] });
    const question = await asked;
    expect(question.files).toEqual([expect.objectContaining({ name: 'invoice.pdf', type: 'pdf', converted: expect.objectContaining({ landAs: 'invoice.pdf', pages: 1 }) })]);
    const thumbnail = Buffer.from(question.files[0]!.converted!.thumbnails[0]!.replace(/^data:image\/png;base64,/, ''), 'base64');
    expect(thumbnail.subarray(1, 4).toString()).toBe('PNG');
    await answerAfterReading(t.rpc, { id: question.id, accept: true });
    const { result } = await transfer;
    expect(result.results).toEqual([expect.objectContaining({ outcome: 'copied', landedAs: 'invoice.pdf', converted: { pages: 1 }, type: 'pdf' })]);
    const landed = join(incoming(), 'invoice.pdf');
    expect(execFileSync('qpdf', ['--check', landed], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
    const bytes = readFileSync(landed);
    expect(bytes.equals(hostile.javascript())).toBe(false);
    expect(bytes.toString('latin1').replace(/stream\n[\s\S]*?\nendstream/g, '')).not.toMatch(/JavaScript|OpenAction|\/Font/);
    expect(result.results[0]!.size).toBe(bytes.length);

    const record = t.records().filter((r) => r.kind === 'file.transfer' && r.decision === 'copied').at(-1)!;
    expect(record).toMatchObject({ direction: 'up', pages: 1, converter: 'converted', ocr: 'off', landedAs: 'invoice.pdf' });
    expect(record.originalFingerprint).toEqual(expect.any(String));
    expect(record.fingerprint).not.toBe(record.originalFingerprint);
  });

  it('a source swapped while it is converted changes nothing: the staged copy is what is converted', async () => {
    const source = put('slow.pdf', hostile.slowPage(300_000));
    const asked = t.rpc.next('onConfirmRequest') as Promise<FilesConfirmRequest>;
    const transfer = t.rpc.call('files.transfer', { from: 'low', to: 'high', paths: ['slow.pdf'] });
    let converting = false;
    for (let i = 0; i < 600 && !converting; i++) {
      // This supervisor's converter: the bwrap that binds a copy from its own staging area (other
      // tests convert beside it).
      converting = readdirSync('/proc').some((pid) => {
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          return argv.some((a) => a.startsWith(t.root)) && argv.includes(DOCUMENT_IN_SANDBOX);
        } catch {
          return false;
        }
      });
      if (!converting) await new Promise((r) => setTimeout(r, 20));
    }
    expect(converting).toBe(true);
    writeFileSync(source, hostile.pages(3)); // what the source says now: three pages
    const question = await asked;
    expect(question.files[0]!.converted!.pages).toBe(1);
    await answerAfterReading(t.rpc, { id: question.id, accept: true });
    const { result } = await transfer;
    expect(result.results).toEqual([expect.objectContaining({ outcome: 'copied', converted: { pages: 1 } })]);
  });

  it('refusals carry their reason and nothing lands: too large a page, not a document', async () => {
    put('poster.pdf', hostile.hugePage());
    put('tool.docx', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...Array(200).fill(0)]));
    const { result } = await t.rpc.call('files.transfer', { from: 'low', to: 'high', paths: ['poster.pdf', 'tool.docx'] });
    expect(result.results[0]).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/^a page is too large: page 1 is 10001 × /) });
    expect(result.results[1]).toMatchObject({ outcome: 'refused' });
    expect(existsSync(join(incoming(), 'poster.pdf'))).toBe(false);
    expect(existsSync(join(incoming(), 'tool.pdf'))).toBe(false);
    const refused = t.records().filter((r) => r.kind === 'file.transfer' && r.name === 'poster.pdf').at(-1)!;
    expect(refused).toMatchObject({ decision: 'refused', converter: 'page-too-large' });
  });
});

describe('files up converted with OCR (real cages, real converter, real tesseract)', () => {
  const uids = { low: 58609, high: 58610 };
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(twoLevelPolicy({ low: bwrapCage({ uid: uids.low }), high: bwrapCage({ uid: uids.high }) }, 'files:\n  up:\n    decision: convert\n    convert: { ocr: true, ocrLanguages: [fra] }\n'));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('the PDF that lands in high has the text layer the policy asked for, and the journal says so', { timeout: 120_000 }, async () => {
    const path = join(t.home('low'), 'note.pdf');
    writeFileSync(path, hostile.plain());
    chownSync(path, uids.low, uids.low);
    const asked = t.rpc.next('onConfirmRequest') as Promise<FilesConfirmRequest>;
    const transfer = t.rpc.call('files.transfer', { from: 'low', to: 'high', paths: ['note.pdf'] });
    await answerAfterReading(t.rpc, { id: (await asked).id, accept: true });
    expect((await transfer).result.results).toEqual([expect.objectContaining({ outcome: 'copied', landedAs: 'note.pdf', converted: { pages: 1 } })]);
    const landed = join(t.home('high'), 'Incoming', 'low', 'note.pdf');
    // The test page says CLOISON TEST PAGE in 36-point Helvetica beside coloured blocks (tesseract
    // reads the first word well, the rest not always: the layer is only as good as its reading).
    expect(execFileSync('pdftotext', [landed, '-'], { encoding: 'utf8' })).toContain('CLOISON');
    expect(t.records().filter((r) => r.kind === 'file.transfer' && r.decision === 'copied').at(-1)).toMatchObject({ ocr: 'fra', converter: 'converted' });
  });
});
