/**
 * OCR over the converted pixels, with the real tesseract in its real sandbox: a page of French
 * text comes out with an invisible text layer pdftotext reads, in the one font the layer needs and
 * nothing else; the OCR sandbox's seccomp mode, uid, network namespace and mounts are read from
 * /proc while it runs; a subverted tesseract (a script in its place) that says too much, says
 * garbage or tries to write PDF syntax is refused or escaped, and leaves no file behind; one that
 * hangs is killed at the per-page limit.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../testing/waitFor';
import { convertDocument, type ConvertLimits } from './documentConverter';
import { pdfOf } from './hostileDocuments';
import { CONVERTER_UID_BASE } from './pixelSandbox';
import { convertersRunning } from '../../testing/converterProcesses';

const LIMITS: ConvertLimits = { dpi: 150, maxPages: 50, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 64, secondsPerPage: 60, secondsToOpen: 60, thumbnails: 1, ocr: { languages: ['fra', 'eng'] } };

const dir = mkdtempSync(join(tmpdir(), 'cloison-ocr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A one-page PDF showing `lines` in 28-point Helvetica (WinAnsi: é is \351). */
function textPage(...lines: string[]): Buffer {
  const escaped = lines.map((l) => `(${[...l].map((c) => (c.charCodeAt(0) > 126 ? `\\${c.charCodeAt(0).toString(8)}` : c)).join('')}) '`).join(' ');
  const content = Buffer.from(`BT /F1 28 Tf 34 TL 72 700 Td ${escaped} ET`, 'latin1');
  return pdfOf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    Buffer.concat([Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from('\nendstream')]),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ]);
}

async function convert(doc: Buffer, limits: Partial<ConvertLimits> = {}) {
  const i = n++;
  const input = join(dir, `in-${i}.pdf`);
  writeFileSync(input, doc, { mode: 0o644 });
  const out = join(dir, `out-${i}.pdf`);
  return { out, result: await convertDocument(input, 'pdf', out, { ...LIMITS, ...limits }) };
}

/** A program playing a subverted tesseract: a shell script bound into the OCR sandbox in its place. */
function fakeTesseract(name: string, script: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

const HEADER = 'level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth\\theight\\tconf\\ttext\\n';

function dictionariesOf(pdf: Buffer): string {
  return pdf.toString('latin1').replace(/stream\n[\s\S]*?\nendstream/g, 'stream endstream');
}

/** qpdf finds it sound; no script, action, annotation, attachment or form; the one font is the OCR layer's, not embedded. */
function expectCleanWithTextLayer(out: string) {
  expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
  const pdf = readFileSync(out);
  const dicts = dictionariesOf(pdf);
  for (const name of ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/Annots', '/EmbeddedFile', '/Filespec', '/XFA', '/AcroForm', '/URI', '/FontFile', '/FontDescriptor']) expect(dicts, name).not.toContain(name);
  const fonts = [...dicts.matchAll(/<< \/Type \/Font [^>]*>>/g)].map((m) => m[0]);
  expect(fonts).toHaveLength(1);
  expect(fonts[0]).toMatch(/^<< \/Type \/Font \/Subtype \/Type1 \/BaseFont \/Helvetica \/Encoding \/WinAnsiEncoding /);
  expect(new Set([...dicts.matchAll(/\/Type \/(\w+)/g)].map((m) => m[1]))).toEqual(new Set(['Catalog', 'Pages', 'Page', 'XObject', 'Font']));
  // pdffonts agrees: one font, not embedded.
  const listed = execFileSync('pdffonts', [out], { encoding: 'utf8' }).trim().split('\n').slice(2);
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatch(/^Helvetica\s+Type 1\s+WinAnsi\s+no\s/);
  // The text is drawn in mode 3: invisible.
  expect(pdf.toString('latin1')).toMatch(/BT 3 Tr\n/);
}

describe('OCR text layer (real tesseract in its own sandbox)', () => {
  it('a page of French text converts with an invisible text layer that pdftotext reads; without OCR there is no text', { timeout: 180_000 }, async () => {
    const page = textPage('Données élevées été', 'Rapport annuel du comité');
    const { out, result } = await convert(page);
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectCleanWithTextLayer(out);
    const text = execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' });
    for (const word of ['Données', 'élevées', 'été', 'Rapport', 'annuel', 'comité']) expect(text).toContain(word);
    // Each word where the original drew it: pdftotext's boxes for "Données" in both agree within a few points.
    const box = (pdf: string) => {
      const m = /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">Données<\/word>/.exec(execFileSync('pdftotext', ['-bbox', pdf, '-'], { encoding: 'utf8' }));
      expect(m, `a box for Données in ${pdf}`).not.toBeNull();
      return m!.slice(1, 5).map(Number) as [number, number, number, number];
    };
    const [ax, ay, aX] = box(join(dir, `in-${n - 1}.pdf`));
    const [bx, by, bX] = box(out);
    expect(Math.abs(ax - bx)).toBeLessThan(4);
    expect(Math.abs(ay - by)).toBeLessThan(6);
    expect(Math.abs((aX - ax) / (bX - bx) - 1)).toBeLessThan(0.1);

    const plain = await convert(page, { ocr: null });
    expect(plain.result).toMatchObject({ ok: true, pages: 1 });
    expect(execFileSync('pdftotext', [plain.out, '-'], { encoding: 'utf8' }).trim()).toBe('');
    expect(dictionariesOf(readFileSync(plain.out))).not.toContain('/Font');
  });

  it('the OCR sandbox, read from /proc while tesseract runs: seccomp filter, a uid of its own, no network, nothing but /usr', { timeout: 180_000 }, async () => {
    const running = convert(textPage(...Array.from({ length: 18 }, (_, i) => `Ligne ${i + 1} : une phrase assez longue pour occuper le moteur`)));
    let pid: string | undefined;
    let done = false;
    void running.finally(() => (done = true));
    while (!pid && !done) {
      pid = convertersRunning().find((p) => comm(p) === 'tesseract');
      if (!pid) await new Promise((r) => setTimeout(r, 20));
    }
    expect(pid, 'a tesseract running as a converter uid').toBeDefined();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    const netDev = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
    const netNs = readlinkSync(`/proc/${pid}/ns/net`);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(Number(/^Uid:\s+(\d+)/m.exec(status)![1])).toBeGreaterThanOrEqual(CONVERTER_UID_BASE);
    expect(netNs).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(netDev.trim().split('\n').slice(2).map((l) => l.trim().split(':')[0])).toEqual(['lo']);
    const mounts = mountinfo.trim().split('\n').map((l) => l.split(' ')[4]!);
    const nodeDir = process.execPath.startsWith('/usr/') ? null : join(process.execPath, '..');
    // Not the document, not the pixel helper, not LibreOffice's registry: pixels come on stdin only.
    expect(mounts.filter((m) => !['/', '/usr', '/proc', '/dev', '/tmp', '/dev/shm'].includes(m) && !m.startsWith('/dev/') && !m.startsWith('/proc/') && m !== nodeDir)).toEqual([]);
    const { result } = await running;
    expect(result).toMatchObject({ ok: true });
  });

  it.each([
    ['says over 4 MiB (an endless stream of rows)', `cat >/dev/null; printf '${HEADER}'; yes '5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tmot'`, /over 4194304 bytes for one page/],
    ['puts a word outside the page', `cat >/dev/null; printf '${HEADER}5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t99999\\t10\\t90\\tHUGE\\n'`, /row 2: a box outside the page/],
    ['says bytes that are not UTF-8', `cat >/dev/null; printf '${HEADER}5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t10\\t10\\t90\\t\\377\\376\\n'`, /not UTF-8/],
    ['hides a control character in a word', `cat >/dev/null; printf '${HEADER}5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t10\\t10\\t90\\ta\\033]0;b\\n'`, /row 2: a word with an unprintable character/],
    ['writes something other than TSV', `cat >/dev/null; echo '%PDF-1.4 1 0 obj << /JavaScript >>'`, /row 1: not the TSV header/],
    ['gives a negative or huge number', `cat >/dev/null; printf '${HEADER}5\\t1\\t1\\t1\\t1\\t1\\t-5\\t0\\t10\\t10\\t90\\tx\\n'`, /row 2: a field that is not a small number/],
    ['crashes', 'kill -SEGV $$', /text recognition killed by SIGSEGV|exited/],
  ])('a subverted tesseract that %s is refused, and no file is left', { timeout: 120_000 }, async (_what, script, reason) => {
    const program = fakeTesseract(`tesseract-${n}`, script);
    const { out, result } = await convert(textPage('Bonjour'), { ocr: { languages: ['fra'], program } });
    expect(result).toMatchObject({ ok: false, refusal: 'ocr-failed' });
    expect(!result.ok && result.reason).toMatch(/^the text recognition failed: page 1: /);
    expect(!result.ok && result.reason).toMatch(reason);
    expect(readdirSync(dir)).not.toContain(out.split('/').pop());
  });

  it('a tesseract that hangs is killed at the per-page limit with its sandbox: a time-out, no file, no process left', { timeout: 120_000 }, async () => {
    const program = fakeTesseract(`tesseract-${n}`, 'cat >/dev/null; exec sleep 600');
    const before = new Set(convertersRunning());
    const { out, result } = await convert(textPage('Bonjour'), { secondsPerPage: 2, ocr: { languages: ['fra'], program } });
    expect(result).toMatchObject({ ok: false, refusal: 'timed-out' });
    expect(!result.ok && result.reason).toMatch(/page 1: text recognition killed after its limit \(2 s a page\)/);
    expect(readdirSync(dir)).not.toContain(out.split('/').pop());
    // SIGKILLed processes are gone once the kernel has run their exit: later on a loaded machine.
    const left = () => convertersRunning().filter((p) => !before.has(p) && comm(p) === 'sleep');
    await waitFor(() => left().length === 0, "the killed tesseract's sleep gone", 10_000).catch(() => undefined);
    expect(left()).toEqual([]);
  });

  it('a subverted tesseract that writes PDF syntax as a word gets it escaped as text: no action, the file stays sound', { timeout: 120_000 }, async () => {
    const word = ') Tj ET /OpenAction << /S /JavaScript /JS (app.alert(1)) >> BT (';
    const program = fakeTesseract(`tesseract-${n}`, `cat >/dev/null; printf '${HEADER}5\\t1\\t1\\t1\\t1\\t1\\t10\\t10\\t600\\t30\\t90\\t%s\\n' '${word}'`);
    const { out, result } = await convert(textPage('Bonjour'), { ocr: { languages: ['fra'], program } });
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectCleanWithTextLayer(out);
    expect(execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).trim()).toBe(word);
  });
});

function comm(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
