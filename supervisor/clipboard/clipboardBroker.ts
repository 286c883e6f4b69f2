/**
 * The clipboard broker: copy out of one cage's own X clipboard into the supervisor, paste into
 * another cage's, each paste decided by the policy for its direction (and pair), confirmed by the
 * user in a trusted dialog when the policy says `ask`, and journaled — metadata and a keyed fingerprint only.
 *
 * The VNC channel carries no clipboard at all (the gateway drops ClientCutText; Xvnc runs with its
 * clipboard off): this broker is the only way text crosses between cages.
 */
import { decodeClipboardText, endsPreviewOf, lineCount } from '../../shared/clipboardText';
import { createHash } from 'node:crypto';
import { CloisonError } from '../../shared/errors';
import { clipboardRuleFor, directionBetween, type Policy } from '../../shared/policy';
import type { HeldClipboard } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { Confirmations } from '../confirm/confirmations';
import type { ReadResult } from './xSelection';

/** Where the broker reads and writes a cage's clipboard (the X helper, or a test's double). */
export interface CageClipboards {
  read(level: string, maxBytes: number): Promise<ReadResult>;
  write(level: string, text: string): Promise<void>;
}

export interface ClipboardBrokerOptions {
  policy: Policy;
  clipboards: CageClipboards;
  confirmations: Confirmations;
  journal: AuditJournal;
  onChange: (held: HeldClipboard | null) => void;
  now?: () => number;
}

interface Held extends HeldClipboard {
  text: string;
  /** Keyed fingerprint of the text (journalKey.ts), for the journal. */
  fingerprint: string;
  stripped: number;
}

export type PasteOutcome = { outcome: 'pasted' | 'denied' | 'refused' | 'timed-out'; reason?: string };

export class ClipboardBroker {
  private held: Held | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ClipboardBrokerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): HeldClipboard | null {
    if (this.held && this.held.expiresAt <= this.now()) this.clear('expired');
    return this.held ? publicView(this.held) : null;
  }

  /** Reads the cage's clipboard; the largest limit any rule allows bounds what is read at all. */
  async copy(source: string): Promise<HeldClipboard> {
    const level = this.level(source);
    const maxBytes = Math.max(...this.options.policy.levels.map((to) => clipboardRuleFor(this.options.policy, level, to).maxBytes));
    const read = await this.options.clipboards.read(source, maxBytes);
    const refuse = (reason: string): never => {
      this.options.journal.append('clipboard.copy', 'user', { from: source, decision: 'refused', reason });
      throw new CloisonError('LIMIT_EXCEEDED', reason);
    };
    if (read.kind === 'empty') refuse(`the ${source} clipboard holds no text`);
    if (read.kind === 'too-large') refuse(`the ${source} clipboard holds more than ${maxBytes} bytes`);
    const bytes = (read as { bytes: Buffer }).bytes;
    const decoded = decodeClipboardText(bytes);
    if (!decoded.ok) refuse(decoded.reason === 'not-utf8' ? 'the clipboard is not valid UTF-8 text' : 'the clipboard holds binary data, not text');
    const { text, stripped } = decoded as { text: string; stripped: number };
    const at = this.now();
    const expiry = Math.max(...this.options.policy.levels.map((to) => clipboardRuleFor(this.options.policy, level, to).expirySeconds));
    const held: Held = {
      source,
      text,
      stripped,
      bytes: Buffer.byteLength(text),
      lines: lineCount(text),
      heldAt: at,
      expiresAt: at + expiry * 1000,
      singleUse: true,
      // Keyed: the journal (and the SIEM it feeds) never holds a plain hash a dictionary could invert.
      fingerprint: this.options.journal.fingerprint(createHash('sha256').update(text).digest('hex')),
    };
    // Recorded first: text the journal cannot account for is never held.
    this.options.journal.append('clipboard.copy', 'user', { from: source, kind: 'text', size: held.bytes, fingerprint: held.fingerprint, stripped, decision: 'held' });
    this.held = held;
    this.scheduleExpiry();
    this.options.onChange(publicView(held));
    return publicView(held);
  }

  async paste(target: string): Promise<PasteOutcome> {
    const to = this.level(target);
    const held = this.state ? this.held! : null;
    if (!held) throw new CloisonError('BAD_REQUEST', 'the brokered clipboard is empty (nothing copied, already pasted, or expired)');
    const from = this.level(held.source);
    const rule = clipboardRuleFor(this.options.policy, from, to);
    const direction = directionBetween(from, to);
    const record = (decision: string, decidedBy: string, reason?: string) =>
      this.options.journal.append('clipboard.paste', decidedBy, {
        from: held.source,
        to: target,
        direction,
        kind: 'text',
        size: held.bytes,
        fingerprint: held.fingerprint,
        decision,
        ...(reason ? { reason } : {}),
      });

    if (target === held.source) return this.deny(record, 'policy', 'the text is already in that cage');
    if (this.now() > held.heldAt + rule.expirySeconds * 1000) return this.deny(record, 'policy', `held longer than the ${rule.expirySeconds} s allowed from ${held.source} to ${target}`);
    if (rule.decision === 'deny') return this.deny(record, 'policy', `the policy forbids ${direction} clipboard transfers from ${held.source} to ${target}`);
    if (!rule.kinds.includes('text')) return this.deny(record, 'policy', `the policy allows no text from ${held.source} to ${target}`);
    if (held.bytes > rule.maxBytes) return this.deny(record, 'policy', `${held.bytes} bytes is over the ${rule.maxBytes}-byte limit from ${held.source} to ${target}`);

    if (rule.decision === 'ask') {
      const preview = endsPreviewOf(held.text);
      const answer = await this.options.confirmations.ask({
        kind: 'clipboard',
        from: held.source,
        to: target,
        direction,
        what: {
          kind: 'text',
          bytes: held.bytes,
          lines: held.lines,
          preview: preview.head.text,
          previewTruncated: preview.omitted > 0,
          previewTail: preview.tail.text,
          previewOmitted: preview.omitted,
          invisibles: preview.invisibles,
          stripped: held.stripped,
        },
      });
      if (answer !== 'accepted') {
        record(answer, 'user');
        return { outcome: answer, reason: answer === 'timed-out' ? 'no answer in time' : 'refused by the user' };
      }
      if (this.held !== held) return this.deny(record, 'supervisor', 'the brokered clipboard changed while the dialog was open');
    }

    // Intent before effect: no record, no paste; the outcome follows the write.
    const decidedBy = rule.decision === 'ask' ? 'user' : 'policy';
    record('approved', decidedBy);
    try {
      await this.options.clipboards.write(target, held.text);
    } catch (err) {
      this.recordOutcome(() => record('failed', 'supervisor', (err as Error).message));
      throw new CloisonError('CAGE_UNAVAILABLE', (err as Error).message);
    }
    this.recordOutcome(() => record('pasted', decidedBy));
    if (rule.singleUse) this.clear('used');
    return { outcome: 'pasted' };
  }

  dispose(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
  }

  /** An outcome whose record fails is still the outcome: its intent record stands for it. */
  private recordOutcome(write: () => void): void {
    try {
      write();
    } catch {
      /* counted by the journal */
    }
  }

  private deny(record: (decision: string, by: string, reason?: string) => void, by: string, reason: string): PasteOutcome {
    record('denied', by, reason);
    return { outcome: 'denied', reason };
  }

  private clear(why: 'used' | 'expired'): void {
    if (!this.held) return;
    if (why === 'expired') this.recordOutcome(() => this.options.journal.append('clipboard.expire', 'supervisor', { from: this.held!.source, fingerprint: this.held!.fingerprint }));
    this.held = null;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.options.onChange(null);
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (!this.held) return;
    this.expiryTimer = setTimeout(() => this.state, Math.max(0, this.held.expiresAt - this.now()) + 10);
    this.expiryTimer.unref();
  }

  private level(id: string) {
    const level = this.options.policy.levels.find((l) => l.id === id);
    if (!level) throw new CloisonError('UNKNOWN_LEVEL', `no level "${id}" in the policy`);
    return level;
  }
}

function publicView(h: Held): HeldClipboard {
  return { source: h.source, bytes: h.bytes, lines: h.lines, heldAt: h.heldAt, expiresAt: h.expiresAt, singleUse: h.singleUse };
}
