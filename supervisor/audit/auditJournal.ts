/**
 * Append-only, keyed, chained audit journal: one JSON line per decision, fsync'd per record.
 *
 * Each record carries an HMAC of itself (the installation's chain key, journalKey.ts) that covers
 * the previous record's, so `verifyJournal` with the key finds any edited, removed, reordered or
 * added record even when whoever changed it recomputed every plain hash. A head file beside the
 * journal (`<journal>.head`, rewritten atomically after each record, with its own HMAC) names the
 * last record, so cutting records off the end is found too. A torn last line (a crash mid-write)
 * is set aside into `<journal>.torn-<time>`, reported in the journal, never a reason to stay down.
 * Records from before keys (plain sha256, no `alg`) still verify, as a prefix only: the first start
 * with a key seals them with a keyed `journal.keyed` record that counts them, so a journal turned
 * back into plain hashes by someone without the key is found.
 * Metadata only: callers must never put content that crossed levels in a record, only keyed
 * fingerprints (`fingerprint`).
 */
import { createHash, createHmac } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import { contentFingerprint, loadOrCreateJournalKeys, type JournalKeys } from './journalKey';

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

/** The plain hash of records written before keys: anyone can recompute it, so it proves little. */
export function hashRecord(fields: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(fields)).digest('hex');
}

export const KEYED = 'hmac-sha256';

export function macRecord(key: Buffer, fields: Record<string, unknown>): string {
  return createHmac('sha256', key).update(canonical(fields)).digest('hex');
}

function macHead(key: Buffer, head: { seq: number; hash: string }): string {
  return createHmac('sha256', key).update(`head:${head.seq}:${head.hash}`).digest('hex');
}

export interface AuditJournal {
  append(kind: string, actor: string, fields?: AuditFields): AuditRecord;
  /** The keyed fingerprint of content whose sha256 this is, for a record (never the plain hash). */
  fingerprint(sha256Hex: string): string;
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

  private readonly keys: JournalKeys;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
    keys?: JournalKeys,
  ) {
    const loaded = keys ? { keys, created: false } : loadOrCreateJournalKeys(path);
    this.keys = loaded.keys;
    // A crash mid-write leaves a torn last line: set it aside, keep the whole records.
    const torn = existsSync(path) ? quarantineTornTail(path, this.now()) : null;
    // Resume the chain of an existing journal; refuse to extend one that does not verify. A journal
    // of plain records only is taken as it is only when its key is being made now (an upgrade).
    const tail = existsSync(path)
      ? verifyJournal(readFileSync(path, 'utf8'), readHead(path), this.keys, { unsealedLegacy: loaded.created })
      : { ok: true as const, count: 0, lastHash: GENESIS_HASH, authenticated: true, legacy: 0 };
    if (!tail.ok) throw new Error(`audit journal ${path} fails verification (${tail.error}); refusing to append to it`);
    this.seq = tail.count;
    this.prev = tail.lastHash;
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
    if (tail.legacy > 0 && tail.legacy === tail.count) this.append('journal.keyed', 'supervisor', { legacy: tail.legacy });
    if (torn) this.append('journal.torn', 'supervisor', { bytes: torn.bytes, quarantinedTo: torn.file.split('/').pop()! });
  }

  fingerprint(sha256Hex: string): string {
    return contentFingerprint(this.keys, sha256Hex);
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
    const body = { ...fields, seq: this.seq + 1, time: this.now().toISOString(), kind, actor, prev: this.prev, alg: KEYED };
    const record = { ...body, hash: macRecord(this.keys.chain, body) } as AuditRecord;
    const line = Buffer.from(JSON.stringify(record) + '\n');
    try {
      writeWhole(this.fd, line);
      fsyncSync(this.fd);
      writeHead(this.path, { seq: record.seq, hash: record.hash, mac: macHead(this.keys.chain, record) });
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.size);
        fsyncSync(this.fd);
      } catch {
        /* the next start reports and sets aside a torn last line */
      }
      this.failures++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CloisonError('JOURNAL_UNAVAILABLE', bilingual(`le journal d’audit ne peut pas être écrit (${code}) : rien n’a été fait`, `the audit journal cannot be written (${code}): nothing was done`));
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
  /** HMAC of seq and hash with the chain key: a head rewritten without the key is found. */
  mac?: string;
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

export type VerifyResult =
  | { ok: true; count: number; lastHash: string; /** every keyed record's HMAC was checked */ authenticated: boolean; /** plain records before the keyed ones */ legacy: number }
  | { ok: false; line: number; error: string };

/**
 * Checks the chain; with the head, also that nothing was cut off the end; with the keys, that no
 * record was made or changed by anyone without the installation's secret. Without the keys only
 * the links are checked (`authenticated: false`): a forger who kept each record's hash field and
 * changed its content would pass that.
 */
export function verifyJournal(text: string, head: JournalHead | null = null, keys: JournalKeys | null = null, options: { unsealedLegacy?: boolean } = {}): VerifyResult {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = GENESIS_HASH;
  let keyedSeen = false;
  let legacy = 0;
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
    if (record.alg === KEYED) {
      if (keys && record.hash !== macRecord(keys.chain, record)) return { ok: false, line: lineNo, error: `line ${lineNo} was edited or forged (its HMAC does not match the installation key)` };
      // Plain records before: only as the sealed prefix of an upgraded journal.
      if (!keyedSeen && legacy > 0 && (record.kind !== 'journal.keyed' || record.legacy !== legacy)) {
        return { ok: false, line: lineNo, error: `line ${lineNo}: ${legacy} records without HMAC before it, not sealed by a journal.keyed record: forged` };
      }
      keyedSeen = true;
    } else {
      if (keyedSeen) return { ok: false, line: lineNo, error: `line ${lineNo} has no HMAC after keyed records: forged` };
      if (record.hash !== hashRecord(record)) return { ok: false, line: lineNo, error: `line ${lineNo} was edited (hash mismatch)` };
      legacy++;
    }
    prev = record.hash as string;
  }
  if (keys && legacy > 0 && !keyedSeen && !options.unsealedLegacy) {
    return { ok: false, line: 1, error: 'no record carries an HMAC of the installation key: the journal was rewritten without it' };
  }
  if (head) {
    if (keys && keyedSeen && head.mac !== macHead(keys.chain, head)) return { ok: false, line: lines.length + 1, error: 'the head file was rewritten without the installation key' };
    // Records after the head: a crash between a record and its head (each record is keyed, so none
    // can be added without the key); fewer records than the head names: some were cut off the end.
    const headed = lines.findIndex((l) => (JSON.parse(l) as { seq: number }).seq === head.seq);
    if (head.seq > lines.length || (head.seq > 0 && (headed < 0 || (JSON.parse(lines[headed]!) as { hash: string }).hash !== head.hash))) {
      return { ok: false, line: lines.length + 1, error: `journal ends at record ${lines.length} but its head names record ${head.seq}: records were removed from the end` };
    }
    if (!keys && lines.length > head.seq + 1) return { ok: false, line: head.seq + 1, error: `records after the head's record ${head.seq}, and no key to authenticate them` };
  }
  return { ok: true, count: lines.length, lastHash: prev, authenticated: keys !== null || !keyedSeen, legacy };
}

/** Moves a torn last line (no newline at its end, or not JSON) into `<journal>.torn-<time>`. */
function quarantineTornTail(path: string, now: Date): { bytes: number; file: string } | null {
  const text = readFileSync(path);
  if (text.length === 0) return null;
  const lastNewline = text.lastIndexOf(0x0a);
  let keep = text.length;
  if (text[text.length - 1] !== 0x0a) keep = lastNewline + 1;
  else {
    const before = text.lastIndexOf(0x0a, text.length - 2);
    try {
      JSON.parse(text.subarray(before + 1, text.length - 1).toString('utf8'));
      return null;
    } catch {
      keep = before + 1;
    }
  }
  const file = `${path}.torn-${now.toISOString().replace(/[:.]/g, '-')}`;
  writeFileSync(file, text.subarray(keep), { mode: 0o600 });
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, keep);
  fsyncSync(fd);
  closeSync(fd);
  return { bytes: text.length - keep, file };
}
