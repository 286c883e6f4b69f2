/**
 * What the trainer's flow view draws: each crossing or decision the journal records, reduced to
 * its metadata — kind, from, to, size, decision, who decided. Intents (`approved`) are left out:
 * the outcome that follows says what happened.
 */
import type { FlowItem } from '../../shared/rpc';
import type { AuditRecord } from '../audit/auditJournal';

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const num = (v: unknown) => (typeof v === 'number' ? v : null);

export function flowItemOf(r: AuditRecord): FlowItem | null {
  const base = { seq: r.seq, time: r.time, actor: r.actor };
  switch (r.kind) {
    case 'clipboard.paste':
    case 'file.transfer':
      if (r.decision === 'approved') return null;
      return { ...base, kind: r.kind === 'clipboard.paste' ? 'clipboard' : 'files', from: str(r.from), to: str(r.to), bytes: num(r.size), decision: String(r.decision) };
    case 'usb.decision':
      return { ...base, kind: 'usb', from: null, to: str(r.level), bytes: num(r.sizeBytes), decision: r.level ? `attach ${String(r.mode)}` : String(r.outcome ?? 'none') };
    case 'audio.microphone':
      return { ...base, kind: 'microphone', from: null, to: str(r.level), bytes: null, decision: String(r.action) };
    case 'user.report':
      return { ...base, kind: 'report', from: str(r.level), to: null, bytes: null, decision: 'report' };
    default:
      return null;
  }
}
