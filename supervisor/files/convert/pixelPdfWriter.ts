/**
 * Writes a PDF from bare RGB pixels and nothing else: one image XObject per page (8-bit DeviceRGB,
 * FlateDecode), one content stream drawing it over the whole page, a catalogue, a page tree and a
 * cross-reference table. It parses nothing: the only input is width, height and pixel rows, so
 * whatever the original document carried (scripts, actions, attachments, fonts) cannot reach
 * what it writes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

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

  /** Adds one page: `rgb` holds height rows of width × 3 bytes. */
  addPage(width: number, height: number, rgb: Buffer): void {
    if (rgb.length !== width * height * 3) throw new Error(`page of ${width} × ${height} px needs ${width * height * 3} bytes, got ${rgb.length}`);
    const image = this.object(`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`, deflateSync(rgb, { level: 6 }));
    const w = fixed((width * 72) / this.dpi);
    const h = fixed((height * 72) / this.dpi);
    const content = this.object('<<', Buffer.from(`q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q\n`, 'latin1'));
    const page = this.object(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Im0 ${image} 0 R >> >> /Contents ${content} 0 R >>`);
    this.pageIds.push(page);
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
