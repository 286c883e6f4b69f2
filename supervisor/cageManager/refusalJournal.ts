/**
 * The manager's refusals in root's journal, bounded: each record is a fsync'd write, so a part that
 * sends forbidden requests without end would fill root's journal and stall the manager's loop on
 * the disk. In a window (10 s from the first refusal), the first few refusals of each op and gate
 * are journaled, and a few in all; the rest are only counted, and one record says how many when the
 * window ends (or the manager closes). Every refusal is still answered: only its record is spared.
 *
 * The key is finite whatever the part sends: an op the schemas do not know counts as `(other)`.
 */
import type { AuditFields, AuditJournal } from '../audit/auditJournal';
import { rootRequestSchemas } from './requests';

export const REFUSED_KIND = 'rootRequest.refused';

/** The gate that refused: the peer, the frame, the envelope, the schema, the policy, an executor, a bound. */
export type RefusalGate = 'peer' | 'connections' | 'frame' | 'envelope' | 'schema' | 'policy' | 'executor' | 'busy';

export interface RefusalFields {
  actor: string;
  op: string;
  reason: string;
  peerUid: number | null;
  peerPid: number | null;
}

export interface RefusalJournalOptions {
  /** Refusals journaled per op and gate in a window. */
  perKind?: number;
  /** Refusals journaled in all in a window. */
  total?: number;
  windowMs?: number;
}

export const DEFAULT_REFUSALS_PER_KIND = 16;
export const DEFAULT_REFUSALS_TOTAL = 64;
export const DEFAULT_REFUSAL_WINDOW_MS = 10_000;

const KNOWN_OPS = new Set(Object.keys(rootRequestSchemas));
/** The ops the manager itself names for what comes before a request: a connection, a frame, an envelope. */
const GATE_OPS = new Set(['(connection)', '(frame)', '(envelope)', '(none)']);

export class RefusalJournal {
  private readonly perKind: number;
  private readonly total: number;
  private readonly windowMs: number;
  private counts = new Map<string, number>();
  private journaled = 0;
  private dropped = new Map<string, number>();
  private window: NodeJS.Timeout | null = null;

  constructor(private readonly journal: AuditJournal, options: RefusalJournalOptions = {}) {
    this.perKind = options.perKind ?? DEFAULT_REFUSALS_PER_KIND;
    this.total = options.total ?? DEFAULT_REFUSALS_TOTAL;
    this.windowMs = options.windowMs ?? DEFAULT_REFUSAL_WINDOW_MS;
  }

  record(gate: RefusalGate, fields: RefusalFields): void {
    if (!this.window) this.window = setTimeout(() => this.endWindow(), this.windowMs).unref();
    const op = KNOWN_OPS.has(fields.op) || GATE_OPS.has(fields.op) ? fields.op : '(other)';
    const key = `${op} ${gate}`;
    const seen = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, seen);
    if (seen > this.perKind || this.journaled >= this.total) {
      this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
      return;
    }
    this.journaled++;
    this.append(fields.actor, { op: fields.op.slice(0, 64), reason: fields.reason.slice(0, 300), peerUid: fields.peerUid, peerPid: fields.peerPid });
  }

  /** Writes the count of the window's unjournaled refusals, if any (the manager closing). */
  close(): void {
    this.endWindow();
  }

  private endWindow(): void {
    if (this.window) clearTimeout(this.window);
    this.window = null;
    if (this.dropped.size > 0) {
      const notJournaled = [...this.dropped.values()].reduce((a, b) => a + b, 0);
      this.append('cloison', {
        op: '(many)',
        reason: `${notJournaled} more refusals in ${this.windowMs / 1000} s not journaled one by one (${this.perKind} per op and gate, ${this.total} in all)`,
        notJournaled,
        byKind: [...this.dropped].map(([key, n]) => `${key}: ${n}`).join(', ').slice(0, 2000),
      });
    }
    this.counts = new Map();
    this.dropped = new Map();
    this.journaled = 0;
  }

  /** A journal that cannot write changes nothing: the request is refused either way. */
  private append(actor: string, fields: AuditFields): void {
    try {
      this.journal.append(REFUSED_KIND, actor, fields);
    } catch {
      /* JOURNAL_UNAVAILABLE: counted by the journal itself */
    }
  }
}
