/**
 * Writes a PDF from bare RGB pixels and nothing else: one image XObject per page (8-bit DeviceRGB,
 * FlateDecode), one content stream drawing it over the whole page, a catalogue, a page tree and a
 * cross-reference table. It parses nothing: the only input is width, height and pixel rows, so
 * whatever the original document carried (scripts, actions, attachments, fonts) cannot reach
 * what it writes.
 *
 * With OCR, a page also gets an invisible text layer (render mode 3: drawn nowhere, found by search
 * and copy) from the words the OCR sandbox recognised in those same pixels, each word placed and
 * stretched over its box, in the one font the layer needs: the standard Helvetica, not embedded
 * (no font program in the file), its widths declared here so every viewer places the words alike.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import type { OcrWord } from './ocrWords';

/** Every glyph of the layer's font is declared this wide (thousandths of the size): the layer is invisible, only its boxes matter. */
const GLYPH_WIDTH = 500;

export class PixelPdfWriter {
  private readonly fd: number;
  private offset = 0;
  private readonly offsets: number[] = [];
  private readonly pageIds: number[] = [];

  /** `dpi`: how many pixels make an inch of page (the resolution the pages were rendered at). */
  constructor(
    path: string,
    private readonly dpi: number,
  ) {
    this.fd = openSync(path, 'wx', 0o644);
    // Objects 1 (catalogue) and 2 (page tree) are written last, once every page is known.
    this.offsets.push(0, 0);
    this.write('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  }

  private fontId = 0;

  /** Adds one page: `rgb` holds height rows of width × 3 bytes; `words`, its invisible text layer. */
  addPage(width: number, height: number, rgb: Buffer, words: OcrWord[] = []): void {
    if (rgb.length !== width * height * 3) throw new Error(`page of ${width} × ${height} px needs ${width * height * 3} bytes, got ${rgb.length}`);
    const image = this.object(`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`, deflateSync(rgb, { level: 6 }));
    const w = fixed((width * 72) / this.dpi);
    const h = fixed((height * 72) / this.dpi);
    const text = this.textLayer(words, height);
    const content = this.object('<<', Buffer.from(`q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q\n${text}`, 'latin1'));
    const font = text ? ` /Font << /F1 ${this.fontId} 0 R >>` : '';
    const page = this.object(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Im0 ${image} 0 R >>${font} >> /Contents ${content} 0 R >>`);
    this.pageIds.push(page);
  }

  /** The text operators drawing `words` invisibly (page `height` px tall), or '' when none can be written. */
  private textLayer(words: OcrWord[], height: number): string {
    const ops: string[] = [];
    const pt = 72 / this.dpi;
    for (const word of words) {
      const bytes = winAnsi(word.text);
      if (bytes.length === 0) continue;
      // The box's height is the font size; the glyphs' declared width is stretched to the box's.
      const size = word.height * pt;
      const scale = ((word.width * pt) / ((bytes.length * GLYPH_WIDTH * size) / 1000)) * 100;
      const x = word.left * pt;
      // The baseline a fifth of the box above its bottom (descenders below it).
      const y = (height - word.top - word.height * 0.8) * pt;
      ops.push(`/F1 ${fixed(size)} Tf ${fixed(scale)} Tz 1 0 0 1 ${fixed(x)} ${fixed(y)} Tm (${pdfString(bytes)}) Tj`);
    }
    if (ops.length === 0) return '';
    if (this.fontId === 0) {
      const widths = Array.from({ length: 224 }, () => GLYPH_WIDTH).join(' ');
      this.fontId = this.object(`<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 255 /Widths [${widths}] >>`);
    }
    return `BT 3 Tr\n${ops.join('\n')}\nET\n`;
  }

  get pages(): number {
    return this.pageIds.length;
  }

  /** Writes the page tree, the catalogue and the cross-reference table, and closes the file. */
  finish(): void {
    try {
      this.at(2, `<< /Type /Pages /Kids [${this.pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${this.pageIds.length} >>`);
      this.at(1, '<< /Type /Catalog /Pages 2 0 R >>');
      const xref = this.offset;
      const rows = this.offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
      this.write(`xref\n0 ${this.offsets.length + 1}\n0000000000 65535 f \n${rows}trailer\n<< /Size ${this.offsets.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Closes the file without finishing it (a refused conversion: the caller removes it). */
  abandon(): void {
    closeSync(this.fd);
  }

  /** A new object: a dictionary, or a stream when `stream` is given (its /Length added here). */
  private object(dict: string, stream?: Buffer): number {
    this.offsets.push(this.offset);
    const id = this.offsets.length;
    if (stream) {
      this.write(`${id} 0 obj\n${dict} /Length ${stream.length} >>\nstream\n`);
      this.writeBytes(stream);
      this.write('\nendstream\nendobj\n');
    } else this.write(`${id} 0 obj\n${dict}\nendobj\n`);
    return id;
  }

  private at(id: number, dict: string): void {
    this.offsets[id - 1] = this.offset;
    this.write(`${id} 0 obj\n${dict}\nendobj\n`);
  }

  private write(text: string): void {
    this.writeBytes(Buffer.from(text, 'latin1'));
  }

  private writeBytes(b: Buffer): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    this.offset += b.length;
  }
}

function fixed(n: number): string {
  return Number(n.toFixed(3)).toString();
}

/** WinAnsiEncoding's codes 128–159 (the rest of 32–255 is Latin-1). */
const WIN_ANSI_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

/** A word in WinAnsiEncoding: a character the encoding lacks becomes '?'. */
function winAnsi(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const high = WIN_ANSI_HIGH.indexOf(ch);
    if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff)) out.push(c);
    else if (high >= 0 && !/[\u0081\u008d\u008f\u0090\u009d]/.test(ch)) out.push(0x80 + high);
    else out.push(0x3f);
  }
  return Buffer.from(out);
}

/** The bytes of a PDF literal string: parentheses and backslashes escaped, the rest in octal above 126. */
function pdfString(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) s += b === 0x28 || b === 0x29 || b === 0x5c ? `\\${String.fromCharCode(b)}` : b > 0x7e ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b);
  return s;
}
