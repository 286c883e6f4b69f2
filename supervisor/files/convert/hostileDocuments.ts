/**
 * The tests' corpus of hostile documents, made here byte by byte (no fixture from elsewhere): PDFs
 * with JavaScript, /Launch and /OpenAction, an embedded file, an XFA form, a page of 10,001 px,
 * 600 pages, a decompression bomb, a slow page, a truncated file, and a file that is not what its
 * name says.
 */
import { deflateSync } from 'node:zlib';

/** A PDF from its objects' bodies (object n is objects[n-1]), with a correct cross-reference table. */
export function pdfOf(objects: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const b = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'), Buffer.from('\nendobj\n')]);
    parts.push(b);
    length += b.length;
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  parts.push(Buffer.from(xref));
  return Buffer.concat(parts);
}

function stream(dict: string, data: Buffer, deflate = false): Buffer {
  const body = deflate ? deflateSync(data) : data;
  return Buffer.concat([Buffer.from(`<< ${dict}${deflate ? ' /Filter /FlateDecode' : ''} /Length ${body.length} >>\nstream\n`), body, Buffer.from('\nendstream')]);
}

const PAGE_CONTENT = Buffer.from('BT /F1 36 Tf 72 700 Td (CLOISON TEST PAGE) Tj ET 0 0 1 rg 72 300 300 200 re f 1 0 0 rg 300 100 200 100 re f');
const FONT = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';

/** A one-page document whose catalogue carries `catalogExtra` and whose page carries `pageExtra`. */
function onePage(catalogExtra: string, pageExtra = '', more: Array<string | Buffer> = []): Buffer {
  return pdfOf([
    `<< /Type /Catalog /Pages 2 0 R ${catalogExtra} >>`,
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R ${pageExtra} >>`,
    stream('', PAGE_CONTENT),
    FONT,
    ...more,
  ]);
}

export const hostile = {
  plain: () => onePage(''),
  javascript: () => onePage('/OpenAction << /S /JavaScript /JS (app.alert\\("owned"\\); this.exportDataObject\\({cName: "x", nLaunch: 2}\\);) >> /Names << /JavaScript << /Names [(a) << /S /JavaScript /JS (app.alert\\(1\\)) >>] >> >>'),
  launch: () => onePage('/OpenAction << /S /Launch /F (/bin/sh) /Win << /F (cmd.exe) /P (/c calc) >> >>', '/Annots [6 0 R]', ['<< /Type /Annot /Subtype /Link /Rect [72 300 372 500] /A << /S /Launch /F (/usr/bin/xterm) >> >>']),
  embeddedFile: () =>
    onePage('/Names << /EmbeddedFiles << /Names [(payload.exe) 6 0 R] >> >>', '/Annots [8 0 R]', [
      '<< /Type /Filespec /F (payload.exe) /EF << /F 7 0 R >> >>',
      stream('/Type /EmbeddedFile', Buffer.from('MZ-EMBEDDED-PAYLOAD-7d1e')),
      '<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 20 20] /FS 6 0 R >>',
    ]),
  xfa: () => onePage('/AcroForm << /Fields [] /XFA 6 0 R >>', '', [stream('', Buffer.from('<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><script>xfa.host.messageBox("XFA-PAYLOAD")</script></xdp:xdp>'))]),
  /** A page of 10,001 px at 150 dpi. */
  hugePage: () => pdfOf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${(10_001 * 72) / 150} 600] /Contents 4 0 R >>`, stream('', Buffer.from('0 0 1 rg 0 0 100 100 re f'))]),
  pages: (n: number) => {
    const kids = Array.from({ length: n }, (_, i) => `${i + 5} 0 R`).join(' ');
    return pdfOf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      `<< /Type /Pages /Kids [${kids}] /Count ${n} >>`,
      stream('', PAGE_CONTENT),
      FONT,
      ...Array.from({ length: n }, () => '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>'),
    ]);
  },
  /** 256 MiB of content stream from a quarter of a MiB. */
  decompressionBomb: () =>
    pdfOf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>', stream('', Buffer.alloc(256 * 1024 * 1024, 0x20), true)]),
  /** A page that takes the renderer long: hundreds of thousands of tiny fills. */
  slowPage: (fills = 400_000) => {
    const ops: string[] = [];
    for (let i = 0; i < fills; i++) ops.push(`${i % 600} ${(i * 7) % 780} 0.5 0.5 re f`);
    return pdfOf(['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>', stream('', Buffer.from(ops.join('\n')), true)]);
  },
  truncated: () => {
    const whole = onePage('');
    return whole.subarray(0, Math.floor(whole.length / 2));
  },
  /** Says %PDF- and is nothing of the kind. */
  notAPdf: () => Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 251))]),
};
