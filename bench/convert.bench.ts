/**
 * Converted documents, seconds per page through the whole path (the disposable sandbox, LibreOffice
 * for the DOCX, pdftoppm, the pipe, the supervisor's PDF rebuild and thumbnails) against the same
 * tools run bare in the same run (LibreOffice for the DOCX, pdftoppm to files, the same rebuild, no
 * sandbox): a 20-page text PDF and a 5-page DOCX. Goals: ≤ 1.25× the bare pipeline; the 20-page
 * PDF in under 15 s on two cores.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertDocument } from '../supervisor/files/convert/documentConverter';
import { pdfOf, zipOf } from '../supervisor/files/convert/hostileDocuments';
import { PixelPdfWriter } from '../supervisor/files/convert/pixelPdfWriter';
import { fmt, median } from './lib/stats';

const RUNS = 3;
const LIMITS = { dpi: 150, maxPages: 500, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 128, secondsPerPage: 30, secondsToOpen: 120, thumbnails: 3 };

function textPdf(pages: number): Buffer {
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.';
  const content = Buffer.from(`BT /F1 10 Tf 12 TL 60 760 Td ${Array.from({ length: 55 }, () => `(${line}) '`).join(' ')} ET`);
  const kids = Array.from({ length: pages }, (_, i) => `${i + 5} 0 R`).join(' ');
  return pdfOf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`,
    Buffer.concat([Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from('\nendstream')]),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    ...Array.from({ length: pages }, () => '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>'),
  ]);
}

function textDocx(pages: number): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const para = '<w:p><w:r><w:t>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</w:t></w:r></w:p>';
  const body = Array.from({ length: pages }, (_, i) => `${para.repeat(20)}${i < pages - 1 ? '<w:p><w:r><w:br w:type="page"/></w:r></w:p>' : ''}`).join('');
  return zipOf([
    ['[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'],
    ['_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'],
    ['word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`],
  ]);
}

/** The bare pipeline: (LibreOffice,) pdftoppm to files, the same PDF rebuild; seconds. */
function bare(input: string, kind: string, work: string): number {
  const t0 = process.hrtime.bigint();
  let pdf = input;
  if (kind !== 'pdf') {
    const named = join(work, `in.${kind}`);
    writeFileSync(named, readFileSync(input));
    execFileSync('soffice', ['--headless', '--norestore', '--nolockcheck', `-env:UserInstallation=file://${work}/lo`, '--convert-to', 'pdf', '--outdir', work, named], { stdio: 'ignore', env: { ...process.env, HOME: work } });
    pdf = join(work, 'in.pdf');
  }
  execFileSync('pdftoppm', ['-r', '150', pdf, join(work, 'p')]);
  const writer = new PixelPdfWriter(join(work, `out-${Date.now()}.pdf`), 150);
  for (const f of readdirSync(work).filter((n) => n.endsWith('.ppm')).sort()) {
    const ppm = readFileSync(join(work, f));
    const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.toString('latin1', 0, 40))!;
    writer.addPage(Number(m[1]), Number(m[2]), ppm.subarray(m[0].length));
  }
  writer.finish();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export interface ConvertBench {
  pdf: { pages: number; cloison: number[]; bare: number[] };
  docx: { pages: number; cloison: number[]; bare: number[] };
}

export async function runConvertBench(log: (s: string) => void): Promise<ConvertBench> {
  const root = mkdtempSync(join(tmpdir(), 'cloison-bench-convert-'));
  try {
    const out: ConvertBench = { pdf: { pages: 20, cloison: [], bare: [] }, docx: { pages: 5, cloison: [], bare: [] } };
    for (const [name, kind, doc] of [['pdf', 'pdf', textPdf(20)], ['docx', 'docx', textDocx(5)]] as const) {
      const input = join(root, `${name}.in`);
      writeFileSync(input, doc, { mode: 0o644 });
      const r = out[name];
      for (let i = 0; i < RUNS; i++) {
        const work = join(root, `bare-${name}-${i}`);
        mkdirSync(work);
        r.bare.push(bare(input, kind, work) / r.pages);
        const t0 = process.hrtime.bigint();
        const c = await convertDocument(input, kind, join(root, `${name}-${i}.pdf`), LIMITS);
        if (!c.ok) throw new Error(`conversion refused: ${c.reason}`);
        if (c.pages !== r.pages) log(`${name}: ${c.pages} pages (expected ${r.pages})`);
        r.pages = c.pages;
        r.cloison.push(Number(process.hrtime.bigint() - t0) / 1e9 / r.pages);
      }
      log(`${name} (${r.pages} pages): cloison ${fmt(median(r.cloison))} s/page, bare ${fmt(median(r.bare))} s/page, ratio ${fmt(median(r.cloison) / median(r.bare))}; whole document ${fmt(median(r.cloison) * r.pages)} s`);
    }
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
