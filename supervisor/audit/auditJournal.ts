/**
 * Append-only, hash-chained audit journal: one JSON line per decision, fsync'd per record.
 *
 * Each record carries the hash of the previous one, so `verifyJournal` finds any edited, removed or
 * reordered record. A head file beside the journal (`<journal>.head`, rewritten atomically after
 * each record) names the last record, so cutting records off the end is found too. Metadata only: callers must never put content that crossed levels in a record.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { CloisonError } from '../../shared/errors';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditFields = Record<string, string | number | boolean | null>;

export interface AuditRecord extends AuditFields {
  seq: number;
  time: string;
  kind: string;
  actor: string;
  prev: string;
  hash: string;
}

/** Keys in a fixed order so the hash does not depend on how a record was built. */
function canonical(fields: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(fields).sort()) if (key !== 'hash') sorted[key] = fields[key];
  return JSON.stringify(sorted);
}

export function hashRecord(fields: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(fields)).digest('hex');
}

export interface AuditJournal {
  append(kind: string, actor: string, fields?: AuditFields): AuditRecord;
  close(): void;
}

export class FileAuditJournal implements AuditJournal {
  private fd: number;
  private seq: number;
  private prev: string;
  /** Bytes of whole records in the file: a failed append is cut back to this. */
  private size: number;
  /** Records that could not be written (each refused its decision, or was a fact that got lost). */
  failures = 0;
  private readonly listeners: Array<(record: AuditRecord) => void> = [];

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    // Resume the chain of an existing journal; refuse to extend one that does not verify.
    const tail = existsSync(path) ? verifyJournal(readFileSync(path, 'utf8'), readHead(path)) : { ok: true as const, count: 0, lastHash: GENESIS_HASH };
    if (!tail.ok) throw new Error(`audit journal ${path} fails verification (${tail.error}); refusing to append to it`);
    this.seq = tail.count;
    this.prev = tail.lastHash;
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** How many records the journal holds. */
  get records(): number {
    return this.seq;
  }

  /**
   * Writes one record, whole and on disk, or throws JOURNAL_UNAVAILABLE having left the journal as
   * it was (a partial line is cut off again): the caller then refuses the decision that needed it.
   */
  append(kind: string, actor: string, fields: AuditFields = {}): AuditRecord {
    const body: Omit<AuditRecord, 'hash'> = { ...fields, seq: this.seq + 1, time: this.now().toISOString(), kind, actor, prev: this.prev };
    const record = { ...body, hash: hashRecord(body) } as AuditRecord;
    const line = Buffer.from(JSON.stringify(record) + '\n');
    try {
      writeWhole(this.fd, line);
      fsyncSync(this.fd);
      writeHead(this.path, { seq: record.seq, hash: record.hash });
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.size);
        fsyncSync(this.fd);
      } catch {
        /* the next start reports and sets aside a torn last line */
      }
      this.failures++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CloisonError('JOURNAL_UNAVAILABLE', `the audit journal cannot be written (${code}): nothing was done`);
    }
    this.size += line.length;
    this.seq = record.seq;
    this.prev = record.hash;
    // After the local write: the hash-chained file is the reference, copies come second.
    for (const listener of this.listeners) listener(record);
    return record;
  }

  /** Called with every record once it is safely in the file (forwarding to syslog/journald). */
  onRecord(listener: (record: AuditRecord) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** write(2) may write less than asked (a full disk, a signal): go on until all of it is written. */
function writeWhole(fd: number, bytes: Buffer): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

export interface JournalHead {
  seq: number;
  hash: string;
}

export function headPathOf(journal: string): string {
  return `${journal}.head`;
}

export function readHead(journal: string): JournalHead | null {
  try {
    const head = JSON.parse(readFileSync(headPathOf(journal), 'utf8')) as JournalHead;
    return typeof head.seq === 'number' && typeof head.hash === 'string' ? head : null;
  } catch {
    return null;
  }
}

function writeHead(journal: string, head: JournalHead): void {
  const tmp = `${headPathOf(journal)}.tmp`;
  writeFileSync(tmp, JSON.stringify(head) + '\n', { mode: 0o600 });
  renameSync(tmp, headPathOf(journal));
}

export type VerifyResult = { ok: true; count: number; lastHash: string } | { ok: false; line: number; error: string };

/** Checks the chain; with the head, also that nothing was cut off the end. */
export function verifyJournal(text: string, head: JournalHead | null = null): VerifyResult {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = GENESIS_HASH;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(lines[i] ?? '') as Record<string, unknown>;
    } catch {
      return { ok: false, line: lineNo, error: `line ${lineNo} is not JSON` };
    }
    if (record.seq !== lineNo) return { ok: false, line: lineNo, error: `line ${lineNo} has seq ${String(record.seq)}: a record was removed or reordered` };
    if (record.prev !== prev) return { ok: false, line: lineNo, error: `line ${lineNo} does not follow the previous record (chain broken)` };
    if (record.hash !== hashRecord(record)) return { ok: false, line: lineNo, error: `line ${lineNo} was edited (hash mismatch)` };
    prev = record.hash as string;
  }
  if (head && (head.seq !== lines.length || head.hash !== prev)) {
    return { ok: false, line: lines.length + 1, error: `journal ends at record ${lines.length} but its head names record ${head.seq}: records were removed from the end` };
  }
  return { ok: true, count: lines.length, lastHash: prev };
}
