/**
 * The clipboard broker: copy out of one cage's own X clipboard into the supervisor, paste into
 * another cage's, each paste decided by the policy for its direction (and pair), confirmed by the
 * user in a trusted dialog when the policy says `ask`, and journaled — metadata and a keyed fingerprint only.
 *
 * The VNC channel carries no clipboard at all (the gateway drops ClientCutText; Xvnc runs with its
 * clipboard off): this broker is the only way text crosses between cages.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';
import { decodeClipboardText, endsPreviewOf, lineCount } from '../../shared/clipboardText';
import { createHash } from 'node:crypto';
import { CloisonError } from '../../shared/errors';
import { clipboardRuleFor, directionBetween } from '../../shared/policy';
import type { PolicyReader } from '../policy/policyReader';
import type { HeldClipboard } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { Confirmations } from '../confirm/confirmations';
import type { ReadResult } from './xSelection';
import { SelectionStalled } from './selectionStalled';

/** Where the broker reads and writes a cage's clipboard (the X helper, or a test's double). */
export interface CageClipboards {
  read(level: string, maxBytes: number): Promise<ReadResult>;
  write(level: string, text: string): Promise<void>;
}

export interface ClipboardBrokerOptions {
  policy: PolicyReader;
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

export type PasteOutcome = { outcome: 'pasted' | 'denied' | 'refused' | 'timed-out'; reason?: string; reasonText?: Bilingual };

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
    const maxBytes = Math.max(...this.options.policy.current().levels.map((to) => clipboardRuleFor(this.options.policy.current(), level, to).maxBytes));
    const refuse = (reason: Bilingual): never => {
      this.options.journal.append('clipboard.copy', 'user', { from: source, decision: 'refused', reason: reason.en });
      throw new CloisonError('LIMIT_EXCEEDED', reason);
    };
    const { fr, en } = level.label;
    // A cage that stalls its clipboard (its owner stopped, or slow on purpose) is refused in its
    // name, and journaled: the user reads why, never "internal error".
    const read = await this.options.clipboards.read(source, maxBytes).catch((err: unknown) => {
      if (!(err instanceof SelectionStalled)) throw err;
      return refuse(bilingual(`${fr} n’a pas remis son presse-papiers à temps : rien n’est copié`, `${en} did not hand over its clipboard in time: nothing copied`));
    });
    if (read.kind === 'empty') refuse(bilingual(`Rien à copier : aucun texte copié ni sélectionné dans ${fr}`, `Nothing to copy: no text copied or selected in ${en}`));
    if (read.kind === 'too-large') refuse(bilingual(`Le texte de ${fr} dépasse ${maxBytes} octets : non copié`, `The text in ${en} is over ${maxBytes} bytes: not copied`));
    const bytes = (read as { bytes: Buffer }).bytes;
    const decoded = decodeClipboardText(bytes);
    if (!decoded.ok) {
      refuse(
        decoded.reason === 'not-utf8'
          ? bilingual(`Le presse-papiers de ${fr} n’est pas du texte UTF-8 valide`, `The ${en} clipboard is not valid UTF-8 text`)
          : bilingual(`Le presse-papiers de ${fr} contient des données binaires, pas du texte`, `The ${en} clipboard holds binary data, not text`),
      );
    }
    const { text, stripped } = decoded as { text: string; stripped: number };
    const at = this.now();
    const expiry = Math.max(...this.options.policy.current().levels.map((to) => clipboardRuleFor(this.options.policy.current(), level, to).expirySeconds));
    const held: Held = {
      source,
      text,
      stripped,
      bytes: Buffer.byteLength(text),
      lines: lineCount(text),
      heldAt: at,
      expiresAt: at + expiry * 1000,
      singleUse: true,
      ...(read.kind === 'text' && read.selection ? { selection: read.selection } : {}),
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
    if (!held) {
      throw new CloisonError('BAD_REQUEST', bilingual('Rien à coller : rien n’a été copié, ou c’est déjà collé, ou trop ancien', 'Nothing to paste: the brokered clipboard is empty (nothing copied, already pasted, or expired)'));
    }
    const from = this.level(held.source);
    const [f, t] = [from.label, to.label];
    const rule = clipboardRuleFor(this.options.policy.current(), from, to);
    const direction = directionBetween(from, to);
    const record = (decision: string, decidedBy: string, reason?: Bilingual) =>
      this.options.journal.append('clipboard.paste', decidedBy, {
        from: held.source,
        to: target,
        direction,
        kind: 'text',
        size: held.bytes,
        fingerprint: held.fingerprint,
        decision,
        ...(reason ? { reason: reason.en } : {}),
      });

    const DIRECTION_FR = { up: 'vers le haut', down: 'vers le bas', lateral: 'latéraux' } as const;
    if (target === held.source) return this.deny(record, 'policy', bilingual('le texte est déjà dans cette cage', 'the text is already in that cage'));
    if (this.now() > held.heldAt + rule.expirySeconds * 1000) {
      return this.deny(record, 'policy', bilingual(`gardé plus que les ${rule.expirySeconds} s permises de ${f.fr} à ${t.fr}`, `held longer than the ${rule.expirySeconds} s allowed from ${f.en} to ${t.en}`));
    }
    if (rule.decision === 'deny') {
      return this.deny(record, 'policy', bilingual(`la politique interdit les transferts ${DIRECTION_FR[direction]} du presse-papiers de ${f.fr} à ${t.fr}`, `the policy forbids ${direction} clipboard transfers from ${f.en} to ${t.en}`));
    }
    if (!rule.kinds.includes('text')) return this.deny(record, 'policy', bilingual(`la politique ne permet aucun texte de ${f.fr} à ${t.fr}`, `the policy allows no text from ${f.en} to ${t.en}`));
    if (held.bytes > rule.maxBytes) {
      return this.deny(record, 'policy', bilingual(`${held.bytes} octets dépassent la limite de ${rule.maxBytes} octets de ${f.fr} à ${t.fr}`, `${held.bytes} bytes is over the ${rule.maxBytes}-byte limit from ${f.en} to ${t.en}`));
    }

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
        const reason = answer === 'timed-out' ? bilingual('pas de réponse à temps', 'no answer in time') : bilingual('refusé par vous', 'refused by the user');
        return { outcome: answer, reason: reason.en, reasonText: reason };
      }
      if (this.held !== held) return this.deny(record, 'supervisor', bilingual('le presse-papiers a changé pendant la question', 'the brokered clipboard changed while the dialog was open'));
    }

    // Intent before effect: no record, no paste; the outcome follows the write.
    const decidedBy = rule.decision === 'ask' ? 'user' : 'policy';
    record('approved', decidedBy);
    try {
      await this.options.clipboards.write(target, held.text);
    } catch (err) {
      const why = (err as Error).message;
      this.recordOutcome(() => record('failed', 'supervisor', bilingual(why, why)));
      throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`Collage impossible dans ${t.fr} : ${why}`, `Could not paste into ${t.en}: ${why}`));
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

  private deny(record: (decision: string, by: string, reason?: Bilingual) => void, by: string, reason: Bilingual): PasteOutcome {
    record('denied', by, reason);
    return { outcome: 'denied', reason: reason.en, reasonText: reason };
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
    const level = this.options.policy.current().levels.find((l) => l.id === id);
    if (!level) throw new CloisonError('UNKNOWN_LEVEL', bilingual(`aucun niveau « ${id} » dans la politique`, `no level "${id}" in the policy`));
    return level;
  }
}

function publicView(h: Held): HeldClipboard {
  return { source: h.source, bytes: h.bytes, lines: h.lines, heldAt: h.heldAt, expiresAt: h.expiresAt, singleUse: h.singleUse, ...(h.selection ? { selection: h.selection } : {}) };
}
