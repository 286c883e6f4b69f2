/**
 * What an unprivileged part writes on its stderr, on its way into the supervisor's log: a part is
 * not trusted to write there as itself. Each line is marked with the part's name (a line of its
 * own cannot pass for another component's: a newline it writes starts a new marked line), its
 * control characters escaped (no terminal escape sequence, carriage return or bidi override reaches
 * whoever reads the log), cut at MAX_LINE characters, and the whole held to a byte budget per
 * window; what is over it is dropped and counted, once per window, so a flood costs the log a line
 * (and the root part no more than reading it: a spent window's chunks are not even split).
 */
import { StringDecoder } from 'node:string_decoder';

/** Characters of one line kept; a longer one (or one that never ends) is cut. */
export const MAX_LINE = 1024;
/** What one part may put into the log per window. */
export const STDERR_BUDGET = { bytes: 32 * 1024, windowMs: 10_000 };

/** C0 and C1 controls, DEL, Unicode's line separators, bidirectional controls and invisible formatters. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export class PartStderr {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private windowStart = -Infinity;
  private spent = 0;
  private dropped = 0;
  private notice: NodeJS.Timeout | null = null;

  constructor(
    private readonly name: string,
    private readonly write: (line: string) => void,
    private readonly budget = STDERR_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  push(chunk: Buffer): void {
    const at = this.now();
    this.openWindow(at);
    // Over budget, a chunk is counted and never split nor escaped: a flood of newlines cost the
    // root part ~0.5 µs a byte in that work (seen: a 578 ms stall), now only the read.
    if (this.spent >= this.budget.bytes) return this.drop(chunk.length, at);
    const lines = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = lines.pop() ?? '';
    // A line that never ends is not held without bound: it goes out (cut) as it is.
    if (this.partial.length > MAX_LINE) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const line of lines) this.line(line);
  }

  /** The part's stderr closed: what is left of a line, and the count of what was dropped. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest) this.line(rest);
    this.flushDropped();
  }

  private line(raw: string): void {
    const at = this.now();
    this.openWindow(at);
    const cut = raw.length > MAX_LINE ? ` …(${raw.length - MAX_LINE} more characters cut)` : '';
    const out = `${this.name}: ${escapeControls(raw.slice(0, MAX_LINE))}${cut}`;
    if (this.spent + out.length > this.budget.bytes) {
      this.spent = this.budget.bytes; // the window is spent: what follows is dropped whole, unsplit
      return this.drop(raw.length + 1, at);
    }
    this.spent += out.length;
    this.write(out);
  }

  private openWindow(at: number): void {
    if (at - this.windowStart < this.budget.windowMs) return;
    this.flushDropped();
    this.windowStart = at;
    this.spent = 0;
  }

  private drop(count: number, at: number): void {
    this.dropped += count;
    // Said at the window's end even if the part then stays quiet.
    this.notice ??= setTimeout(() => {
      this.flushDropped();
      this.windowStart = -Infinity; // the window is over: the next line opens one
    }, Math.max(0, this.windowStart + this.budget.windowMs - at)).unref();
  }

  private flushDropped(): void {
    if (this.notice) clearTimeout(this.notice);
    this.notice = null;
    if (this.dropped === 0) return;
    this.write(`${this.name}: ${this.dropped} characters of its stderr dropped (over ${this.budget.bytes} bytes in ${this.budget.windowMs / 1000} s)`);
    this.dropped = 0;
  }
}
