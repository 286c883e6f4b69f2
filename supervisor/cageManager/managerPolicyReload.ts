/**
 * The manager's policy read again: on its SIGHUP only (`systemctl reload cloison-cage-manager`, or
 * `cloison policy reload` run as root, which signals it: managerWhereabouts.ts). The part's
 * `policy.reload` is refused (#29 review): when a reload happens was the part's to choose, and a
 * part watching the world-readable file asked while an administrator's save stalled (`ssh … | sudo
 * tee`): "not written for a second" (settledPolicyText.ts) is not "written whole", and the manager
 * applied a cut policy. No check of the file can tell a cut save from a whole one, so the moment is
 * the administrator's. Only the manager's own file is read. A policy that does not load is refused
 * with the loader's file:line reason and the running one stays. Each outcome is journaled in the
 * manager's journal (`policy.reload`), where the administrator's command reads its verdict.
 *
 * The manager's text is the one policy reading (#29): the part never reads the file, it asks
 * `policy.current` for the text the manager runs (at its start, at each reload) and parses that. The
 * file is taken only once settled (settledPolicyText.ts): a file being written is answered "being
 * written", journaled, and nothing changes (managerSighup.ts reads it again a little later).
 *
 * The check asks the name service about the cages' and card proxies' uids (ownIds.ts) without
 * stopping the manager: a directory that hangs is waited on up to its timeout while every cage
 * request is served, the running policy in force until the new one is wholly checked. One reading
 * at a time: a SIGHUP that comes while one is checked is read after it (several: once, the file as
 * it is then), so the last save is the one that runs.
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../../shared/policy';
import type { AuditJournal } from '../audit/auditJournal';
import { DEFAULT_POLICY_YAML } from '../policy/defaultPolicy';
import { parsePolicyAsking } from '../policy/policyLoader';
import type { Reader } from '../policy/readableBy';
import { readSettledPolicyText } from './settledPolicyText';

/**
 * What the part hears: the manager took the file (its sha256), or refused it (the loader's file:line
 * reason), or found it being written (`beingWritten`: ask again in a moment).
 */
export type ManagerReloadAnswer = { accepted: true; sha256: string | null } | { accepted: false; reason: string; beingWritten?: true };

/** `policy.current`'s answer: the text the manager runs, which its part parses instead of reading the file. */
export interface ManagerPolicyText {
  text: string;
  sha256: string;
}

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');

export interface ManagerPolicyReloadOptions {
  /** The manager's policy file; none: the embedded default, nothing to read again. */
  file: string | undefined;
  /** The text the manager started with (the file's, or the embedded default's). */
  text?: string;
  /** The account its part reads the policy as (policyLoader.ts): the same check as at start. */
  partReader?: Reader;
  journal: Pick<AuditJournal, 'append'>;
  /** The policy taken: the manager's running policy replaced, then what acts on it (sound, dropped levels). */
  apply(next: Policy): void;
  log(msg: string, fields?: Record<string, unknown>): void;
}

export class ManagerPolicyReload {
  /** The last outcome journaled, and how many the same since: a part asking again and again writes one record. */
  private lastJournaled = '';
  private repeats = 0;
  private running: ManagerPolicyText;
  /** The reading being checked, and the one that waits behind it (every SIGHUP meanwhile shares it). */
  private checking: Promise<ManagerReloadAnswer> | null = null;
  private waiting: Promise<ManagerReloadAnswer> | null = null;

  constructor(private readonly options: ManagerPolicyReloadOptions) {
    const text = options.text ?? DEFAULT_POLICY_YAML;
    this.running = { text, sha256: sha256Of(text) };
  }

  /** The text the manager runs now (`policy.current`). */
  current(): ManagerPolicyText {
    return this.running;
  }

  /** Reads the file again (SIGHUP), if it has settled: now, or once the reading being checked is done. */
  reload(asker: 'SIGHUP' | 'the cloison part'): Promise<ManagerReloadAnswer> {
    if (!this.checking) return this.readNow(asker);
    const next = () => {
      this.waiting = null;
      return this.readNow(asker);
    };
    this.waiting ??= this.checking.then(next, next);
    return this.waiting;
  }

  private readNow(asker: 'SIGHUP' | 'the cloison part'): Promise<ManagerReloadAnswer> {
    const reading = this.readAndCheck(asker).finally(() => {
      this.checking = null;
    });
    this.checking = reading;
    return reading;
  }

  private async readAndCheck(asker: 'SIGHUP' | 'the cloison part'): Promise<ManagerReloadAnswer> {
    const { file, log } = this.options;
    if (!file) {
      log('policy reload: the embedded default policy has nothing to read again', { asker });
      return { accepted: true, sha256: null };
    }
    let policy: Policy;
    let text: string;
    try {
      const read = readSettledPolicyText(file);
      if (!read.settled) {
        const reason = `${file} is being written (${read.why}): the running policy stays; retry in a moment`;
        // Journaled at each reading (the administrator's command waits for a verdict; managerSighup.ts retries a few times).
        this.journalOnce(asker, { decision: 'being-written', asker, reason: 'the file was being written: nothing read, the running policy stays' });
        log('policy file being written; the running policy stays', { asker, why: read.why });
        return { accepted: false, reason, beingWritten: true };
      }
      text = read.text;
      policy = await parsePolicyAsking(text, file, 'whole', this.options.partReader);
    } catch (err) {
      const reason = (err as Error).message.slice(0, 2000);
      this.journalOnce(asker, { decision: 'refused', asker, reason: reason.slice(0, 500) });
      log('new policy refused; the running policy stays', { asker, reason });
      return { accepted: false, reason };
    }
    const sha256 = sha256Of(text);
    this.running = { text, sha256 };
    this.options.apply(policy);
    this.journalOnce(asker, { decision: 'applied', asker, sha256, levels: policy.levels.map((l) => l.id).join(',') });
    log('policy reloaded', { asker, levels: policy.levels.map((l) => l.id) });
    return { accepted: true, sha256 };
  }

  /**
   * Journals an outcome unless the part's request only repeats the last one journaled (the same
   * file, or the same refusal): a compromised part asking in a loop, one request after the other,
   * would otherwise write a record a request into root's journal. SIGHUP (the administrator) is
   * always journaled; a repeat's count goes with the next record.
   */
  private journalOnce(asker: string, record: Record<string, string | number>): void {
    const key = JSON.stringify({ ...record, asker: undefined });
    if (asker !== 'SIGHUP' && key === this.lastJournaled) {
      this.repeats++;
      return;
    }
    this.options.journal.append('policy.reload', 'supervisor', { ...record, ...(this.repeats ? { repeatsBefore: this.repeats } : {}) });
    this.lastJournaled = key;
    this.repeats = 0;
  }

  /** The part's `policy.reload`: refused, the file not read (journaled once however often it asks). */
  executor(): () => Promise<ManagerReloadAnswer> {
    return () => {
      this.journalOnce('the cloison part', { decision: 'refused', asker: 'the cloison part', reason: PART_MAY_NOT_RELOAD.slice(0, 500) });
      return Promise.resolve({ accepted: false, reason: PART_MAY_NOT_RELOAD });
    };
  }
}

/** Why the part's request is refused, and what the administrator runs instead. */
export const PART_MAY_NOT_RELOAD = 'the cage manager reads its policy again only at its SIGHUP, when the administrator chooses: `systemctl reload cloison-cage-manager`, or `cloison policy reload` run as root; the cloison part may not choose the moment';
