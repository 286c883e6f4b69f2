/**
 * The converter with Debian's renderers in its real sandbox, fed the hostile corpus the test makes
 * itself (hostileDocuments.ts): each document gives a PDF that qpdf finds sound and that holds no
 * script, action, annotation, attachment, form or font, or a refusal with a reason; the pages'
 * pixels match a direct rendering of the original; a renderer that runs too long is killed with
 * its whole sandbox; the sandbox's seccomp mode, uid, network namespace and mounts are read from
 * /proc while it runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertDocument, type ConvertLimits } from './documentConverter';
import { createServer } from 'node:net';
import { docxWithExternalTemplate, hostile, odtWithMacro } from './hostileDocuments';
import { CONVERTER_UID_BASE } from './pixelSandbox';
import { thumbnailOf } from './thumbnail';
import { convertersRunning, isDocumentSandbox, startedByThisProcess, uidOf } from '../../testing/converterProcesses';
import { waitFor } from '../../testing/waitFor';

const LIMITS: ConvertLimits = { dpi: 150, maxPages: 500, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 64, secondsPerPage: 30, secondsToOpen: 60, thumbnails: 3 };

const dir = mkdtempSync(join(tmpdir(), 'cloison-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function convert(doc: Buffer, limits: Partial<ConvertLimits> = {}, kind = 'pdf') {
  const i = n++;
  const input = join(dir, `in-${i}`);
  writeFileSync(input, doc, { mode: 0o644 });
  const out = join(dir, `out-${i}.pdf`);
  const result = await convertDocument(input, kind, out, { ...LIMITS, ...limits });
  return { input, out, result };
}

/** The PDF's text with its streams' bytes taken out: every dictionary and operator left. */
function dictionariesOf(pdf: Buffer): string {
  return pdf.toString('latin1').replace(/stream\n[\s\S]*?\nendstream/g, 'stream endstream');
}

function expectClean(out: string) {
  // qpdf exits non-zero on any syntax or stream-encoding error.
  expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
  const dicts = dictionariesOf(readFileSync(out));
  for (const name of ['/JavaScript', '/JS', '/OpenAction', '/AA', '/Launch', '/Annots', '/EmbeddedFile', '/Filespec', '/XFA', '/AcroForm', '/Font', '/URI']) expect(dicts, name).not.toContain(name);
  // Every page is one image and nothing else.
  const objects = [...dicts.matchAll(/\/Type \/(\w+)/g)].map((m) => m[1]);
  expect(new Set(objects)).toEqual(new Set(['Catalog', 'Pages', 'Page', 'XObject']));
}

/** One page rendered by pdftoppm as raw RGB. */
function rendered(pdf: string, page = 1): { w: number; h: number; rgb: Buffer } {
  const ppm = execFileSync('pdftoppm', ['-f', String(page), '-l', String(page), '-r', '150', pdf], { maxBuffer: 512 * 1024 * 1024 });
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.toString('latin1', 0, 40))!;
  return { w: Number(m[1]), h: Number(m[2]), rgb: ppm.subarray(m[0].length) };
}

describe('document converter (real sandbox, Debian renderers, hostile corpus)', () => {
  it('a PDF with JavaScript, /OpenAction and name-tree scripts comes out as pixels only, matching a direct rendering', async () => {
    const { input, out, result } = await convert(hostile.javascript());
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectClean(out);
    const a = rendered(input);
    const b = rendered(out);
    expect(Math.abs(a.w - b.w)).toBeLessThanOrEqual(1);
    expect(Math.abs(a.h - b.h)).toBeLessThanOrEqual(1);
    let diff = 0;
    let blue = 0;
    const w = Math.min(a.w, b.w);
    const h = Math.min(a.h, b.h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          const va = a.rgb[(y * a.w + x) * 3 + c]!;
          diff += Math.abs(va - b.rgb[(y * b.w + x) * 3 + c]!);
          if (c === 2 && va > 200 && a.rgb[(y * a.w + x) * 3]! < 50) blue++;
        }
    // The page is not blank (its blue block is there) and the copy differs from it by under 3 levels in 255 on average
    // (its image is resampled once more where the page's size in points was rounded).
    expect(blue).toBeGreaterThan(10_000);
    expect(diff / (w * h * 3)).toBeLessThan(3);
    expect(result.ok && result.thumbnails[0]).toMatch(/^data:image\/png;base64,/);
  });

  it.each([
    ['/Launch actions and a link annotation', hostile.launch],
    ['an embedded file and its attachment annotation', hostile.embeddedFile],
    ['an XFA form', hostile.xfa],
  ])('%s: nothing of it survives', async (_what, make) => {
    const { out, result } = await convert(make());
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectClean(out);
    expect(readFileSync(out).includes('MZ-EMBEDDED-PAYLOAD')).toBe(false);
  });

  it('a page of 10,001 px is refused before it is rendered', async () => {
    const { out, result } = await convert(hostile.hugePage());
    expect(result).toMatchObject({ ok: false, refusal: 'page-too-large' });
    expect(!result.ok && result.reason).toMatch(/10001 × \d+ px at 150 dpi, over 10000 px a side/);
    expect(readdirSync(dir)).not.toContain(out.split('/').pop());
  });

  it('600 pages is refused as too many pages', async () => {
    const { result } = await convert(hostile.pages(600));
    expect(result).toMatchObject({ ok: false, refusal: 'too-many-pages' });
    expect(!result.ok && result.reason).toContain('600 pages, over the limit of 500');
  });

  it('an encrypted PDF is refused as encrypted', async () => {
    const plain = join(dir, 'plain-for-encryption.pdf');
    writeFileSync(plain, hostile.plain());
    const locked = join(dir, 'locked.pdf');
    execFileSync('qpdf', ['--encrypt', 'user-secret', 'owner-secret', '256', '--', plain, locked]);
    const { result } = await convert(readFileSync(locked));
    expect(result).toMatchObject({ ok: false, refusal: 'encrypted', reason: 'the document is encrypted: it opens only with a password' });
  });

  it('a decompression bomb, a truncated PDF and a file that only says %PDF- give a clean PDF or a refusal with its reason', async () => {
    for (const doc of [hostile.decompressionBomb(), hostile.truncated(), hostile.notAPdf()]) {
      const { out, result } = await convert(doc);
      if (result.ok) expectClean(out);
      else expect(result.reason).toMatch(/^the document cannot be read|^the converter/);
    }
  });

  it('a renderer that runs past its limit is killed with its whole sandbox', async () => {
    // Limits far below what this page takes even on an idle machine (1.5 M fills once rendered
    // within 1 s + 1 s there): the kill is what is tested, not the machine's speed.
    // Made before the clock starts: building its 3 M fills takes this process ~4 s of CPU (20 s on a loaded machine).
    const page = hostile.slowPage(3_000_000);
    const before = Date.now();
    const running = convert(page, { secondsPerPage: 0.25, secondsToOpen: 0.5 });
    const ours = new Set<number>();
    let done = false;
    void running.finally(() => (done = true));
    while (!done) {
      // Ours: started by this test's process (test files beside this one convert too: OCR, transfers).
      for (const pid of convertersRunning().filter(startedByThisProcess)) ours.add(uidOf(pid));
      await new Promise((r) => setTimeout(r, 20));
    }
    const { result } = await running;
    expect(result).toMatchObject({ ok: false, refusal: 'timed-out' });
    expect(Date.now() - before).toBeLessThan(15_000);
    expect(ours.size).toBeGreaterThan(0);
    // SIGKILLed processes are gone once the kernel has run their exit: later on a loaded machine.
    const left = () => convertersRunning().filter((pid) => ours.has(uidOf(pid)));
    await waitFor(() => left().length === 0, 'the killed sandbox\'s processes gone', 10_000).catch(() => undefined);
    expect(left()).toEqual([]);
  });

  it('the sandbox, read from /proc while it runs: seccomp filter, a uid of its own, no network, nothing but /usr', async () => {
    const running = convert(hostile.slowPage(1_500_000), { secondsPerPage: 20 });
    let seen: string[] = [];
    for (let i = 0; i < 400 && seen.length === 0; i++) {
      seen = convertersRunning().filter(startedByThisProcess).filter(isDocumentSandbox);
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(seen.length).toBeGreaterThan(0);
    const pid = seen[0]!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
    expect(uid).toBeGreaterThanOrEqual(CONVERTER_UID_BASE);
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    // Its network namespace has a loopback and nothing else, down.
    expect(readFileSync(`/proc/${pid}/net/dev`, 'utf8').trim().split('\n').slice(2).map((l) => l.trim().split(':')[0])).toEqual(['lo']);
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[4]!);
    const allowed = ['/', '/usr', '/proc', '/dev', '/tmp', '/dev/shm', '/etc/libreoffice', '/var/cache/fontconfig', '/opt/cloison-pixel-helper.mjs', '/run/cloison-convert/document'];
    expect(mounts.filter((m) => !allowed.includes(m) && !m.startsWith('/dev/') && !m.startsWith('/proc/') && !(process.execPath.startsWith('/usr/') ? false : m === join(process.execPath, '..')))).toEqual([]);
    expect(mounts).toContain('/usr');
    const r = await running;
    expect(r.result.ok || r.result.refusal === 'timed-out').toBe(true);
  });
});

/** How many pixels of a PDF's first page are dark (text drawn). */
function darkPixels(pdf: string): number {
  const { rgb } = rendered(pdf);
  let dark = 0;
  for (let i = 0; i < rgb.length; i += 3) if (rgb[i]! + rgb[i + 1]! + rgb[i + 2]! < 200) dark++;
  return dark;
}

describe('office documents through LibreOffice headless in the sandbox', () => {
  it('a DOCX pointing at an external template and image converts, and nothing is fetched', { timeout: 240_000 }, async () => {
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const { out, result } = await convert(docxWithExternalTemplate('RAPPORT CONFIDENTIEL', `http://127.0.0.1:${port}`), {}, 'docx');
      expect(result).toMatchObject({ ok: true, pages: 1 });
      expectClean(out);
      expect(darkPixels(out)).toBeGreaterThan(500);
    } finally {
      server.close();
    }
    expect(connections).toBe(0);
  });

  it('an ODT whose macro runs on open converts without running it', { timeout: 240_000 }, async () => {
    // The macro would leave PDFs of its own beside LibreOffice's in the output folder: the helper
    // then refuses the document (it expects exactly one), so a clean result means it did not run.
    // Caveat: this macro was not seen to run even with macros allowed (MacroSecurityLevel 0 in a
    // profile of the sandbox's): headless conversion may never fire a document's load event, so this
    // test shows the conversion copes with a macro-bearing ODT more than it proves the macro is stopped.
    const { out, result } = await convert(odtWithMacro('Ceci est un texte', '/tmp/out/MACRO-RAN.pdf'), {}, 'odt');
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectClean(out);
    expect(darkPixels(out)).toBeGreaterThan(200);
  });

  it('an image becomes a page (LibreOffice Draw)', { timeout: 240_000 }, async () => {
    // A 400 × 300 PNG, half black: encoded by the project's own thumbnail writer.
    const rgb = Buffer.alloc(400 * 300 * 3, 0xff);
    for (let i = 0; i < rgb.length / 2; i++) rgb[i] = 0;
    const png = Buffer.from(thumbnailOf(400, 300, rgb, 400).split(',')[1]!, 'base64');
    const { out, result } = await convert(png, {}, 'png');
    expect(result).toMatchObject({ ok: true, pages: 1 });
    expectClean(out);
    expect(darkPixels(out)).toBeGreaterThan(10_000);
  });

  it('plain text is set in pages', { timeout: 240_000 }, async () => {
    const { out, result } = await convert(Buffer.from('Bonjour, voici un texte.\n'.repeat(200)), {}, 'txt');
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.pages).toBeGreaterThanOrEqual(2);
    expectClean(out);
  });
});
