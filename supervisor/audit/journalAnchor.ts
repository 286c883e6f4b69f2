/**
 * The root supervisor's journal as it was when the cage manager handed it to the `cloison` part
 * (#29, cageManager/rootStateToPart.ts). The journal and its key move together, so from then on
 * the part could rewrite any root-era record and recompute every HMAC and the head: the chain
 * alone would still verify. The manager therefore writes, in its own journal (root's, which the
 * part cannot write), how many records moved, the last one's HMAC and the sha256 of their bytes;
 * `cloison audit verify --anchor <manager journal>` checks the part's journal still begins with
 * exactly those bytes. Changing any of them, or the key, changes the last one's HMAC.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface JournalAnchor {
  /** Whole records in the journal at the move. */
  records: number;
  /** The last one's `hash` (its HMAC for a keyed journal). */
  last: string;
  /** sha256 of those records' bytes, newlines included. */
  sha256: string;
}

/** The fields of the manager's `state.movedToPart` record that carry the anchor. */
export const ANCHOR_FIELDS = { records: 'journalRecords', last: 'journalLast', sha256: 'journalSha256' } as const;

/**
 * The anchor of the journal at `file` now; null when there is none to read. A torn last line
 * (no newline, or not JSON) is left out, as the journal's next opening sets it aside.
 */
export function journalAnchorOf(file: string): JournalAnchor | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = wholeLines(text);
  const lastLine = lines.at(-1);
  if (lastLine !== undefined && parsed(lastLine) === null) lines.pop();
  const last = lines.length > 0 ? parsed(lines.at(-1)!)?.hash : undefined;
  if (lines.length === 0 || typeof last !== 'string') return null;
  return { records: lines.length, last, sha256: sha256Of(lines) };
}

/** Whether `text` (the part's journal now) begins with the anchored records, unchanged. */
export function checkAnchor(text: string, anchor: JournalAnchor): { ok: true } | { ok: false; error: string } {
  const lines = wholeLines(text);
  if (lines.length < anchor.records) return { ok: false, error: `it holds ${lines.length} records, fewer than the ${anchor.records} the root supervisor's journal had when the cage manager moved it` };
  const head = lines.slice(0, anchor.records);
  if (parsed(head.at(-1)!)?.hash !== anchor.last || sha256Of(head) !== anchor.sha256) {
    return { ok: false, error: `its first ${anchor.records} records are not those the cage manager moved (record ${anchor.records}'s HMAC or their bytes differ): the root supervisor's history was rewritten` };
  }
  return { ok: true };
}

/** The anchor the manager's journal text holds: its last `state.movedToPart` record that carries one. */
export function anchorInManagerJournal(text: string): JournalAnchor | null {
  let found: JournalAnchor | null = null;
  for (const line of wholeLines(text)) {
    const record = parsed(line);
    if (record?.kind !== 'state.movedToPart') continue;
    const records = record[ANCHOR_FIELDS.records];
    const last = record[ANCHOR_FIELDS.last];
    const sha256 = record[ANCHOR_FIELDS.sha256];
    if (Number.isInteger(records) && typeof last === 'string' && typeof sha256 === 'string') found = { records: records as number, last, sha256 };
  }
  return found;
}

function wholeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

function parsed(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sha256Of(lines: string[]): string {
  const hash = createHash('sha256');
  for (const line of lines) hash.update(`${line}\n`);
  return hash.digest('hex');
}
