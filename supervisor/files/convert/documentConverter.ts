/**
 * Converts one staged document into a PDF made of its pages' pixels (Qubes' qvm-convert-pdf,
 * Dangerzone): the document is rendered in a disposable sandbox of its own (pixelSandbox.ts),
 * which returns only RGB pixels; this side checks every size before reading the bytes it announces,
 * then rebuilds a PDF from those pixels alone (pixelPdfWriter.ts), with thumbnails of the first
 * pages for the dialog. Refusals carry a reason the user can read: too many pages, a page too
 * large, a time-out, a converter that crashed, an encrypted or unreadable document.
 *
 * With OCR (the policy's `ocr`), each page's pixels also go to a sandbox of their own running
 * tesseract (ocrSandbox.ts), whose words become the page's invisible text layer; output it cannot
 * vouch for refuses the document (`ocr-failed`), as a renderer's would.
 *
 * Time: opening the document (LibreOffice, pdfinfo) gets `secondsToOpen`, each page
 * `secondsPerPage` from the previous one; past either the whole sandbox is killed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { recognisePage, type OcrLanguage } from './ocrSandbox';
import type { OcrWord } from './ocrWords';
import { PixelPdfWriter } from './pixelPdfWriter';
import { conversionGroup } from '../conversionCgroup';
import { NoOwnUidLeft } from '../../system/ownUids';
import { spawnPixelSandbox, type PixelSandboxLimits } from './pixelSandbox';
import { thumbnailOf } from './thumbnail';

export interface ConvertLimits extends PixelSandboxLimits {
  secondsPerPage: number;
  secondsToOpen: number;
  thumbnails: number;
  /** Text recognition over the pixels, in these languages; absent or null: none. */
  ocr?: { languages: OcrLanguage[]; program?: string } | null;
}

export type ConvertRefusal = 'too-many-pages' | 'page-too-large' | 'timed-out' | 'crashed' | 'encrypted' | 'unreadable' | 'not-convertible' | 'ocr-failed' | 'out-of-memory' | 'no-sandbox-uid';

export type Converted =
  | { ok: true; file: string; pages: number; size: number; sha256: string; thumbnails: string[]; seconds: number }
  | { ok: false; refusal: ConvertRefusal; reason: string };

/** The extension LibreOffice opens each detected type under; `zip` takes the name's, if an office one. */
const OFFICE_EXTENSIONS = new Set(['odt', 'ods', 'odp', 'docx', 'xlsx', 'pptx', 'doc', 'xls', 'ppt', 'rtf']);

/** What the sandbox is told the document is, from its type by content and its name's extension. */
export function kindFor(type: string, name: string): string | null {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(name)?.[1]?.toLowerCase() ?? '';
  switch (type) {
    case 'pdf':
      return 'pdf';
    case 'png':
    case 'gif':
      return type;
    case 'jpeg':
      return 'jpg';
    case 'zip':
      return OFFICE_EXTENSIONS.has(ext) ? ext : null;
    case 'text':
      // RTF is text by content; anything else text is opened as plain text.
      return ext === 'rtf' ? 'rtf' : 'txt';
    case 'unknown':
      // Legacy binary office formats (OLE2) and TIFF are not among the types detected by content.
      return ['doc', 'xls', 'ppt', 'tif', 'tiff'].includes(ext) ? ext : null;
    default:
      return null;
  }
}

const MESSAGES: Record<ConvertRefusal, string> = {
  'too-many-pages': 'too many pages',
  'page-too-large': 'a page is too large',
  'timed-out': 'the converter ran out of time',
  crashed: 'the converter crashed',
  encrypted: 'the document is encrypted',
  unreadable: 'the document cannot be read',
  'not-convertible': 'this type of file cannot be converted',
  'ocr-failed': 'the text recognition failed',
  'out-of-memory': 'the converter ran out of memory',
  'no-sandbox-uid': 'the converter cannot run',
};

export function refusalReason(refusal: ConvertRefusal, detail: string): string {
  return detail ? `${MESSAGES[refusal]}: ${detail}` : MESSAGES[refusal];
}

/** Reads exact byte counts from a stream, failing on its end. */
class ExactReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.have += c.length;
      if (this.have > 8 * 1024 * 1024) stream.pause();
      this.wake?.();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    stream.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    this.resume = () => stream.resume();
  }

  private readonly resume: () => void;

  async read(n: number): Promise<Buffer | null> {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.chunks.length === 0) {
        if (this.ended) return null;
        this.resume();
        await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      const c = this.chunks[0]!;
      const take = Math.min(c.length, n - got);
      c.copy(out, got, 0, take);
      got += take;
      this.have -= take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    if (this.have < 8 * 1024 * 1024) this.resume();
    return out;
  }
}

/**
 * Converts `staged` (of `kind`) into the PDF `out`; on refusal nothing is left at `out`. `helper`:
 * the command in the pixel helper's place (tests).
 */
export async function convertDocument(staged: string, kind: string, out: string, limits: ConvertLimits, helper?: (node: string) => string[]): Promise<Converted> {
  const started = Date.now();
  // A group of its own: in the cloison part, what the document makes it allocate is not the part's;
  // as root too, where prlimit alone held each process, not the conversion (its children, its
  // tmpfs files: converterTotalAsRoot.attack.test.ts).
  const group = conversionGroup('convert', limits, undefined, { asRootToo: true });
  let child;
  try {
    child = spawnPixelSandbox(staged, kind, limits, { ...(group ? { prefix: group.prefix } : {}), ...(helper ? { helper } : {}) });
  } catch (err) {
    group?.remove();
    // Subordinate grants hold the converters' whole uid range (ownUids.ts): refused, the grant named.
    if (err instanceof NoOwnUidLeft) return { ok: false, refusal: 'no-sandbox-uid', reason: refusalReason('no-sandbox-uid', err.message) };
    throw err;
  }
  // A start refused (EAGAIN: the part's tasks full) closes it with its errno: a refusal, not the part's end.
  child.on('error', () => undefined);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = (seconds: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, seconds * 1000);
  };
  deadline(limits.secondsToOpen + limits.secondsPerPage);

  const reader = new ExactReader(child.stdout!);
  let writer: PixelPdfWriter | null = null;
  const thumbnails: string[] = [];
  let failure: { refusal: ConvertRefusal; detail: string } | null = null;
  let announced = 0;
  let pagesMade = 0;
  try {
    const head = await reader.read(4);
    if (head) {
      const pages = head.readUInt32BE(0);
      announced = pages;
      if (pages < 1 || pages > limits.maxPages) failure = { refusal: 'too-many-pages', detail: `the converter announced ${pages} pages` };
      else {
        writer = new PixelPdfWriter(out, limits.dpi);
        for (let n = 1; n <= pages && !failure; n++) {
          const size = await reader.read(8);
          if (!size) break;
          const width = size.readUInt32BE(0);
          const height = size.readUInt32BE(4);
          // Sizes checked before a byte of the page is read.
          if (width < 1 || height < 1 || width > limits.maxPageSide || height > limits.maxPageSide) {
            failure = { refusal: 'page-too-large', detail: `page ${n} is ${width} × ${height} px` };
            break;
          }
          const rgb = await reader.read(width * height * 3);
          if (!rgb) break;
          let words: OcrWord[] = [];
          if (limits.ocr) {
            // The renderer's clock stops while its page is read: its next page is timed from here on.
            clearTimeout(timer);
            const seen = await recognisePage(width, height, rgb, { ...limits.ocr, dpi: limits.dpi, memoryBytes: limits.memoryBytes, tasks: limits.tasks, seconds: limits.secondsPerPage });
            if (!seen.ok) {
              failure = seen.timedOut ? { refusal: 'timed-out', detail: `page ${n}: ${seen.detail}` } : { refusal: 'ocr-failed', detail: `page ${n}: ${seen.detail}` };
              break;
            }
            words = seen.words;
          }
          writer.addPage(width, height, rgb, words);
          if (thumbnails.length < limits.thumbnails) thumbnails.push(thumbnailOf(width, height, rgb));
          deadline(limits.secondsPerPage);
        }
      }
    }
    if (failure) child.kill('SIGKILL');
    const { code, signal } = await exited;
    clearTimeout(timer);
    if (!failure) {
      if (timedOut) failure = { refusal: 'timed-out', detail: `killed after its limit (${limits.secondsToOpen} s to open, ${limits.secondsPerPage} s a page)` };
      else if (code === 3) {
        const said = parseRefusal(stderr);
        failure = said ?? { refusal: 'crashed', detail: 'it refused without saying why' };
      } else if (code !== 0 || !writer || writer.pages !== announced || (await reader.read(1)) !== null) {
        failure = group?.outOfMemory()
          ? { refusal: 'out-of-memory', detail: 'killed at its memory limit' }
          : { refusal: 'crashed', detail: signal ? `killed by ${signal}` : `exit ${code}` };
      }
    }
    if (writer && !failure) {
      pagesMade = writer.pages;
      writer.finish();
      writer = null;
    }
  } finally {
    clearTimeout(timer);
    if (!child.killed && child.exitCode === null) child.kill('SIGKILL');
    // Whatever the sandbox left (a fork that escaped bwrap's end) ends with the conversion.
    group?.remove();
    if (writer) writer.abandon();
  }
  if (failure) {
    rmSync(out, { force: true });
    return { ok: false, refusal: failure.refusal, reason: refusalReason(failure.refusal, failure.detail) };
  }
  const bytes = readFileSync(out);
  return { ok: true, file: out, pages: pagesMade, size: statSync(out).size, sha256: createHash('sha256').update(bytes).digest('hex'), thumbnails, seconds: (Date.now() - started) / 1000 };
}

function parseRefusal(stderr: string): { refusal: ConvertRefusal; detail: string } | null {
  const line = stderr.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) return null;
  try {
    const r = JSON.parse(line) as { refuse?: string; detail?: string };
    const known: ConvertRefusal[] = ['too-many-pages', 'page-too-large', 'encrypted', 'unreadable'];
    const refusal = known.find((k) => k === r.refuse);
    return refusal ? { refusal, detail: String(r.detail ?? '').slice(0, 300) } : null;
  } catch {
    return null;
  }
}
