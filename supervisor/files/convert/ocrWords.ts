/**
 * Reads what the OCR sandbox said about one page (tesseract's TSV: one row per block, paragraph,
 * line and word, each with its box in pixels) on the trusted side, strictly: the bytes are
 * untrusted (tesseract read pixels an attacker drew), so every row must have the exact shape
 * tesseract writes, every number must be a small decimal, every box must lie inside the page, every
 * word must be short printable text, and there must not be too many. Anything else refuses the
 * whole output, with the row at fault; nothing of a refused output reaches the PDF.
 */

/** One recognised word: its text and its box in the page's pixels (origin top left). */
export interface OcrWord {
  text: string;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Bounds on one page's output, checked while reading (bytes) and parsing (words, word length). */
export const OCR_MAX_BYTES = 4 * 1024 * 1024;
export const OCR_MAX_WORDS = 20_000;
export const OCR_MAX_WORD_CHARS = 200;

const HEADER = 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext';
const INTEGER = /^\d{1,6}$/;
const CONFIDENCE = /^(?:-1|\d{1,3}(?:\.\d{1,8})?)$/;
// Control characters, separators other than the space, unassigned and private-use code points.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;

export class OcrOutputError extends Error {}

/** The words of a page `width` × `height` px from tesseract's TSV; throws OcrOutputError on anything unexpected. */
export function parseOcrTsv(tsv: Buffer, width: number, height: number): OcrWord[] {
  if (tsv.length > OCR_MAX_BYTES) throw new OcrOutputError(`${tsv.length} bytes, over ${OCR_MAX_BYTES}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(tsv);
  } catch {
    throw new OcrOutputError('not UTF-8');
  }
  const rows = text.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();
  if (rows[0] !== HEADER) throw new OcrOutputError('row 1: not the TSV header');
  const words: OcrWord[] = [];
  for (let i = 1; i < rows.length; i++) {
    const at = `row ${i + 1}`;
    const fields = rows[i]!.split('\t');
    if (fields.length !== 12) throw new OcrOutputError(`${at}: ${fields.length} fields, not 12`);
    const numbers = fields.slice(0, 10);
    if (!numbers.every((f) => INTEGER.test(f))) throw new OcrOutputError(`${at}: a field that is not a small number`);
    if (!CONFIDENCE.test(fields[10]!) || Number(fields[10]) > 100) throw new OcrOutputError(`${at}: a confidence that is not one`);
    const [level, page, , , , , left, top, w, h] = numbers.map(Number) as [number, number, number, number, number, number, number, number, number, number];
    if (level < 1 || level > 5 || page !== 1) throw new OcrOutputError(`${at}: level ${level} of page ${page}`);
    if (left + w > width || top + h > height) throw new OcrOutputError(`${at}: a box outside the page (${left},${top} ${w} × ${h} in ${width} × ${height})`);
    const said = fields[11]!;
    if (level !== 5) {
      if (said !== '') throw new OcrOutputError(`${at}: text on a row that is not a word`);
      continue;
    }
    const word = said.normalize('NFC').trim();
    if (word === '') continue; // tesseract gives empty words for marks it could not read
    if ([...word].length > OCR_MAX_WORD_CHARS) throw new OcrOutputError(`${at}: a word over ${OCR_MAX_WORD_CHARS} characters`);
    if (UNPRINTABLE.test(word)) throw new OcrOutputError(`${at}: a word with an unprintable character`);
    if (w < 1 || h < 1) throw new OcrOutputError(`${at}: an empty box`);
    if (words.length >= OCR_MAX_WORDS) throw new OcrOutputError(`over ${OCR_MAX_WORDS} words`);
    words.push({ text: word, left, top, width: w, height: h });
  }
  return words;
}
