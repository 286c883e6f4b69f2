/**
 * Recognises the text of one converted page with tesseract in a disposable sandbox of its own
 * (disposableSandboxArgs: no network, an empty tmpfs, nothing of the host but /usr, a uid of its
 * own, the cages' syscall filter, a task limit; tesseract under an address-space and file-size
 * limit). It is given the page's pixels only, never the original document: a PPM on its stdin; it
 * answers TSV on its stdout, read here up to OCR_MAX_BYTES and parsed strictly (ocrWords.ts). One
 * sandbox per page, so a page that subverts tesseract sees no other page.
 */
import { spawnBwrap } from '../../sandbox/bwrapSpawn';
import { conversionGroup } from '../conversionCgroup';
import { OCR_MAX_BYTES, OcrOutputError, parseOcrTsv, type OcrWord } from './ocrWords';
import { converterUid, disposableSandboxArgs } from './pixelSandbox';

/** The languages tesseract reads (the packages tesseract-ocr-fra and -eng). */
export const OCR_LANGUAGES = ['fra', 'eng'] as const;
export type OcrLanguage = (typeof OCR_LANGUAGES)[number];

export interface OcrLimits {
  languages: OcrLanguage[];
  dpi: number;
  memoryBytes: number;
  tasks: number;
  seconds: number;
  /** Tests only: a program run in tesseract's place (bound into the sandbox), to play a subverted tesseract. */
  program?: string;
}

export type Recognised = { ok: true; words: OcrWord[] } | { ok: false; timedOut: boolean; detail: string };

const PROGRAM_IN_SANDBOX = '/opt/cloison-ocr-program';

/** The sandbox's bwrap arguments for one page (exported for the tests' /proc probes). */
export function ocrSandboxArgs(limits: OcrLimits, uid: number | (() => number) = converterUid): string[] {
  const binds = limits.program ? ['--ro-bind', limits.program, PROGRAM_IN_SANDBOX] : [];
  const tesseract = limits.program ? PROGRAM_IN_SANDBOX : 'tesseract';
  // One thread: the machine's cores are shared with the renderer and the cages.
  return disposableSandboxArgs(binds, uid, limits.tasks, () => [
    'prlimit', `--as=${limits.memoryBytes}`, `--fsize=${limits.memoryBytes}`, '--core=0', '--',
    tesseract, 'stdin', 'stdout', '-l', limits.languages.join('+'), '--dpi', String(limits.dpi), '--psm', '3', 'tsv',
  ], ['--setenv', 'OMP_THREAD_LIMIT', '1']);
}

/** The words tesseract finds on a page of `width` × `height` RGB pixels, or why there are none. */
export function recognisePage(width: number, height: number, rgb: Buffer, limits: OcrLimits): Promise<Recognised> {
  return new Promise((resolve) => {
    // A group of its own (conversionCgroup.ts), as root too (the converter's reason).
    const group = conversionGroup('ocr', limits, undefined, { asRootToo: true });
    let child;
    try {
      child = spawnBwrap(ocrSandboxArgs(limits), { stdio: ['pipe', 'pipe', 'pipe'], ...(group ? { prefix: group.prefix } : {}) });
    } catch (err) {
      group?.remove();
      throw err;
    }
    // A start refused (EAGAIN) closes it with its errno: a failed page, not the part's end.
    child.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let got = 0;
    let stderr = '';
    let verdict: Recognised | null = null;
    const stop = (v: Recognised) => {
      verdict ??= v;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop({ ok: false, timedOut: true, detail: `text recognition killed after its limit (${limits.seconds} s a page)` }), limits.seconds * 1000);
    child.stdout!.on('data', (c: Buffer) => {
      got += c.length;
      if (got > OCR_MAX_BYTES) stop({ ok: false, timedOut: false, detail: `text recognition said over ${OCR_MAX_BYTES} bytes for one page` });
      else chunks.push(c);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    // It may stop reading early (a subverted or crashed tesseract): its exit says why, not an EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.write(`P6\n${width} ${height}\n255\n`);
    child.stdin!.end(rgb);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const outOfMemory = group?.outOfMemory() ?? false;
      group?.remove();
      if (verdict) return resolve(verdict);
      if (code !== 0 && outOfMemory) return resolve({ ok: false, timedOut: false, detail: 'text recognition ran out of memory' });
      if (code !== 0) return resolve({ ok: false, timedOut: false, detail: `text recognition ${signal ? `killed by ${signal}` : `exited ${code}`}${lastLine(stderr)}` });
      try {
        resolve({ ok: true, words: parseOcrTsv(Buffer.concat(chunks), width, height) });
      } catch (err) {
        if (!(err instanceof OcrOutputError)) throw err;
        resolve({ ok: false, timedOut: false, detail: `text recognition output refused: ${err.message}` });
      }
    });
  });
}

function lastLine(text: string): string {
  const line = text.trim().split('\n').pop()?.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return line ? ` (${line})` : '';
}
