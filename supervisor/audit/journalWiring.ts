/**
 * The audit journal as the supervisor keeps it: one chained file in the state folder, each record
 * copied where the administrator asked (journald, syslog; none by default), file names fingerprinted
 * with the journal's key. It closes last: the forwarder drained first, then the file.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Disposables } from '../system/disposables';
import { FileAuditJournal } from './auditJournal';
import { JournalForwarder, type ForwardTarget } from './journalForwarder';

export function openJournal(stateDir: string, forward: ForwardTarget | undefined, disposables: Disposables, log?: (msg: string, fields?: Record<string, unknown>) => void): FileAuditJournal {
  const journal = new FileAuditJournal(join(stateDir, 'audit.jsonl'));
  disposables.add('journal', () => journal.close());
  const fingerprint = (text: string) => journal.fingerprint(createHash('sha256').update(text).digest('hex'));
  const forwarder = new JournalForwarder(forward ?? { kind: 'none' }, { fingerprint, ...(log ? { log } : {}) });
  journal.onRecord((record) => forwarder.forward(record));
  disposables.add('journal forwarding', () => forwarder.drain());
  return journal;
}

export type FactRecorder = (kind: string, fields: Record<string, string | number | boolean | null>, actor?: 'supervisor' | 'user' | 'admin') => void;

/** Records what happened (not a decision to refuse); a journal that cannot be written is logged. */
export function factRecorder(journal: FileAuditJournal, log?: (msg: string, fields?: Record<string, unknown>) => void): FactRecorder {
  return (kind, fields, actor = 'supervisor') => {
    try {
      journal.append(kind, actor, fields);
    } catch (err) {
      log?.('journal record lost', { kind, error: (err as Error).message });
    }
  };
}
