/**
 * Reads a level's card proxy log (Caml Crush's filter, at debug level 1) into journal events:
 * refusals with the function and the object's label, and logins. Only lines of a known shape
 * become events, and only their function name and label go on: the filter never logs a PIN or
 * data at this level, and anything else it prints is dropped here.
 */

export type CardEvent =
  | { kind: 'refused'; function: string; label: string | null; reason: 'denied-function' | 'hidden-object' | 'sensitive-value' | 'malformed' }
  /** A C_Login call (the filter logs neither its outcome nor whether it was the user's or the officer's). */
  | { kind: 'login' };

const PREFIX = /\[PKCS#11 FILTER pid (\d{1,10})\] \[DEBUG_LEVEL \d\/\d\] (.*)$/;
const OBJECT = /^(C_[A-Za-z]{1,32}): (label|id) '(.{0,256})' is (FILTERED|not filtered) for alias/;
const BLOCKED = /^Blocking function (C_[A-Za-z]{1,32})$/;
const LEAK = /SENSITIVE_LEAK asked during (C_[A-Za-z]{1,32})/;
const LOGIN = /^ ?#+ Identity hook called for C_Login!$/;
/** Longer lines are not the filter's: dropped whole. */
const MAX_LINE = 1024;

/** Keeps, per worker process, the last object it was asked about: refusals name that object. */
export class ProxyJournal {
  private readonly lastLabel = new Map<string, string>();

  constructor(private readonly emit: (event: CardEvent) => void) {}

  line(text: string): void {
    if (text.length > MAX_LINE) return;
    const prefixed = PREFIX.exec(text);
    if (!prefixed) return;
    const [, pid = '', message = ''] = prefixed;
    const object = OBJECT.exec(message);
    if (object) {
      const [, fn = '', , label = '', verdict] = object;
      const clean = cleanLabel(label);
      this.lastLabel.set(pid, clean);
      // C_FindObjects hiding an object is the filter's ordinary work, not an attempt.
      if (verdict === 'FILTERED' && fn !== 'C_FindObjects') this.emit({ kind: 'refused', function: fn, label: clean, reason: 'hidden-object' });
      return;
    }
    const blocked = BLOCKED.exec(message);
    if (blocked) return this.emit({ kind: 'refused', function: blocked[1]!, label: this.lastLabel.get(pid) ?? null, reason: 'denied-function' });
    const leak = LEAK.exec(message);
    if (leak) return this.emit({ kind: 'refused', function: leak[1]!, label: this.lastLabel.get(pid) ?? null, reason: 'sensitive-value' });
    if (LOGIN.test(message)) this.emit({ kind: 'login' });
  }
}

/** A label as the journal shows it: printable, at most 64 characters. */
function cleanLabel(label: string): string {
  return label.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
