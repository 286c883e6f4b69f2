/**
 * The file broker (the diode): files picked in one cage's home land in another cage's
 * `~/Incoming/<source level>/`, each checked against the policy for its direction (and pair).
 *
 * Stage, then decide, then commit (trusted path, property 5: what the user confirmed is exactly
 * what crosses). Each file is read once, by a helper that checks it is still the file listed
 * (device, inode, size, mtime, ctime), into the supervisor's own staging folder, which no cage
 * sees; its type (the whole stream: `text` is valid UTF-8 with no NUL throughout) and sha256 are
 * computed on those bytes. The policy's type rule and the scanner judge the staged copy; the user
 * is asked about it; only the staged bytes are then written into the destination and linked,
 * never overwriting. A source changed after listing is refused with the reason; one changed after
 * staging changes nothing. The journal gets the intent before the commit and the outcome after:
 * direction, name, size, sha256, type, decision, scanner verdict, justification. Never the content.
 *
 * The supervisor never opens a path a cage controls: reading and writing happen in per-cage
 * helper sandboxes (cageFileSandbox.ts) that see only that cage's home, as that cage's user; the
 * broker reaches them through `homes` (cageHomes.ts): started here by the root supervisor, or asked
 * of the root cage manager by the unprivileged part (cageManager/remoteCageHomes.ts).
 *
 * A rule that says `encrypt` (the encrypting diode, encryptingDiode.ts) asks the user, showing the
 * recipients, then encrypts each staged copy to them, signed with the source level's key, in the
 * staging area: only the ciphertext is committed (`<name>.gpg`), the plaintext never reaches the
 * destination's home. The journal records the recipients and both keyed fingerprints.
 *
 * A rule that says `convert` (supervisor/files/convert) renders each staged copy into pixels in a
 * disposable sandbox and rebuilds a PDF from them alone, before asking: the user sees the page
 * count, the PDF's size and thumbnails drawn from its pixels, and only that PDF is committed
 * (`<name>.pdf`); the original never crosses. The journal records both keyed fingerprints, the
 * page count and the converter's verdict.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { NAME_HIDING_CHARACTERS, previewOf } from '../../shared/clipboardText';
import type { Bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import { directionBetween, fileRuleFor, type LevelPolicy } from '../../shared/policy';
import type { PolicyReader } from '../policy/policyReader';
import type { TransferResult } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { Confirmations } from '../confirm/confirmations';
import type { CageHome } from './cageFileSandbox';
import { localCageHomes, type CageHomes, type HomeAccess } from './cageHomes';
import { TypeDetector, type FileType } from './fileTypes';
import { scanStaged } from './scannerSandbox';
import { emptyStagingArea } from './stagingArea';
import { fileReasons as why_, helperReason } from './fileReasons';
import type { EncryptingDiode } from './encryptingDiode';
import type { RecipientKey } from '../policy/recipientKeys';
import { convertDocument, kindFor, refusalReason } from './convert/documentConverter';

interface FileBrokerCommon {
  policy: PolicyReader;
  confirmations: Confirmations;
  journal: AuditJournal;
  /** The supervisor's own folder for staged copies (root's, 0700; a tmpfs, stagingArea.ts): no cage sees it. */
  stagingDir: string;
  /** Progress of the running transfer, at most every PROGRESS_INTERVAL_MS. */
  onProgress?: (p: { file: string; doneBytes: number; totalBytes: number }) => void;
  /** Encrypts for rules that say `encrypt`. */
  diode: EncryptingDiode;
}

export type FileBrokerOptions = FileBrokerCommon &
  (
    | {
        /** The root supervisor: a bwrap cage's home and uid; null for cages the supervisor cannot reach files in. */
        homeOf: (level: string) => CageHome | null;
        homes?: never;
      }
    | {
        /** The homes reached another way (the `cloison` part: through the cage manager, remoteCageHomes.ts). */
        homes: CageHomes;
        homeOf?: never;
      }
  );

const PROGRESS_INTERVAL_MS = 250;

interface Candidate {
  path: string;
  name: string;
  size: number;
  /** The file as listed: the reader refuses any other (fileHelper.mjs, read). */
  identity: string;
}

interface Staged extends Candidate {
  file: string;
  type: FileType;
  sha256: string;
  /** Keyed (journalKey.ts): what the journal holds instead of the plain hash the shell is shown. */
  fingerprint: string;
  /** The name it lands under, when not its own (an encrypted copy's `.gpg`). */
  landAs?: string;
  /** `convert`: the PDF rebuilt from its pixels, which goes instead of it. */
  converted?: { file: string; size: number; sha256: string; fingerprint: string; pages: number; thumbnails: string[]; landAs: string };
}

/** A result as journaled: with the staged bytes' keyed fingerprint, which the shell does not get. */
type Recorded = TransferResult & { fingerprint?: string; converter?: string };

/** A reason as a result carries it: English (the journal's, and old shells'), and both languages. */
const told = (reason: Bilingual) => ({ reason: reason.en, reasonText: reason });

export const INCOMING = 'Incoming';
const MAX_JUSTIFICATION = 1000;

export class FileBroker {
  private cancelCurrent: (() => void) | null = null;
  private cancelled = false;
  private busy = false;
  private progress = { done: 0, total: 0, lastAt: 0 };

  private readonly homes: CageHomes;
  private partials: Promise<void> | null = null;

  constructor(private readonly options: FileBrokerOptions) {
    this.homes = options.homes ?? localCageHomes(options.homeOf!);
  }

  /** Directory listing for the trusted picker; names shown with invisible characters made visible. */
  async list(level: string, path: string) {
    const home = this.home(level);
    const r = await home.run(['list', path]);
    if (r.code !== 0) throw new CloisonError('BAD_REQUEST', why_.cannotList(r.stderr ? helperReason(r.stderr) : null));
    const entries = JSON.parse(r.stdout) as Array<{ name: string; kind: string; size: number }>;
    return entries.map((e) => ({ path: path ? `${path.replace(/\/+$/, '')}/${e.name}` : e.name, name: displayName(e.name), kind: e.kind, size: e.size }));
  }

  /** Removes what an interrupted transfer (a killed supervisor) left half-written, and its staged copies. */
  async cleanPartials(): Promise<void> {
    emptyStagingArea(this.options.stagingDir);
    for (const to of this.options.policy.current().levels) {
      const home = this.homes.of(to.id);
      if (!home) continue;
      for (const from of this.options.policy.current().levels) {
        if (from.id !== to.id && (await home.exists(`${INCOMING}/${from.id}`))) await home.run(['clean', `${INCOMING}/${from.id}`]);
      }
    }
  }

  /**
   * cleanPartials, once: a while after the start (fileStaging.ts's remote staging) or before the
   * first transfer, whichever comes first — never beside a transfer's commit into the same folder.
   * Through the cage manager each level's look needs a serving file helper (a sandbox and a Node
   * process), which at the start took CPU from the cages' first frames. A failure is `onError`'s.
   */
  cleanPartialsOnce(onError?: (err: Error) => void): Promise<void> {
    this.partials ??= this.cleanPartials().catch((err: Error) => {
      onError?.(err);
    });
    return this.partials;
  }

  /** What the policy says of files from one level to another, for the transfer dialog. */
  describeRule(fromId: string, toId: string) {
    const from = this.level(fromId);
    const to = this.level(toId);
    const rule = fileRuleFor(this.options.policy.current(), from, to);
    const direction = directionBetween(from, to);
    let encryptTo: RecipientKey[] = [];
    let problem: string | null = null;
    if (rule.decision === 'encrypt') {
      try {
        encryptTo = this.options.diode.recipients(rule.recipients);
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    return { decision: rule.decision, direction, justificationNeeded: needsJustification(direction, rule.decision), encryptTo: encryptTo.map(shownRecipient), problem, ...(problem ? { problemText: why_.diodeCannotEncrypt(problem) } : {}) };
  }

  cancel(): boolean {
    if (!this.busy) return false;
    this.cancelled = true;
    this.cancelCurrent?.();
    return true;
  }

  async transfer(fromId: string, toId: string, paths: string[], justification?: string): Promise<TransferResult[]> {
    const from = this.level(fromId);
    const to = this.level(toId);
    if (from.id === to.id) throw new CloisonError('BAD_REQUEST', why_.sameLevel());
    if (this.busy) throw new CloisonError('LIMIT_EXCEEDED', why_.busy());
    const fromHome = this.home(from.id);
    const toHome = this.home(to.id);
    const rule = fileRuleFor(this.options.policy.current(), from, to);
    const direction = directionBetween(from, to);
    const why = justification?.trim() ?? '';
    const record = (r: Recorded, decidedBy: string, extra: Record<string, string | number | null> = {}) =>
      this.options.journal.append('file.transfer', decidedBy, {
        from: from.id,
        to: to.id,
        direction,
        name: r.name,
        size: r.size ?? null,
        fingerprint: r.fingerprint ?? null,
        type: r.type ?? null,
        decision: r.outcome,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.landedAs ? { landedAs: displayName(r.landedAs) } : {}),
        ...(why ? { justification: why } : {}),
        ...extra,
      });

    if (rule.decision === 'deny') {
      const reason = why_.forbidden(direction, from, to);
      return paths.map((path) => {
        const r: TransferResult = { path, name: displayName(path), outcome: 'denied', ...told(reason) };
        record(r, 'policy');
        return r;
      });
    }
    // Down transfers in clear, where allowed at all, carry a written justification.
    if (needsJustification(direction, rule.decision) && why.length === 0) throw new CloisonError('BAD_REQUEST', why_.needsJustification());
    if (why.length > MAX_JUSTIFICATION) throw new CloisonError('LIMIT_EXCEEDED', why_.justificationTooLong(MAX_JUSTIFICATION));
    if (paths.length > rule.maxCount) throw new CloisonError('LIMIT_EXCEEDED', why_.tooMany(paths.length, rule.maxCount));

    let recipients: RecipientKey[] = [];
    if (rule.decision === 'encrypt') {
      try {
        recipients = this.options.diode.recipients(rule.recipients);
      } catch (err) {
        const reason = why_.diodeCannotEncrypt((err as Error).message);
        return paths.map((path) => {
          const r: TransferResult = { path, name: displayName(path), outcome: 'refused', ...told(reason) };
          record(r, 'policy');
          return r;
        });
      }
    }
    this.busy = true;
    try {
      // What a killed supervisor left half-written goes first, if the start has not seen to it yet.
      await this.cleanPartialsOnce();
      return await this.stageDecideCommit(from, to, fromHome, toHome, paths, why, record, recipients);
    } finally {
      this.busy = false;
      this.cancelCurrent = null;
    }
  }

  private async stageDecideCommit(
    from: LevelPolicy,
    to: LevelPolicy,
    fromHome: HomeAccess,
    toHome: HomeAccess,
    paths: string[],
    why: string,
    record: (r: Recorded, decidedBy: string, extra?: Record<string, string | number | null>) => void,
    recipients: RecipientKey[],
  ): Promise<TransferResult[]> {
    const rule = fileRuleFor(this.options.policy.current(), from, to);
    const direction = directionBetween(from, to);
    // Pre-flight every file: what its listing already refuses is refused before anything moves.
    const results = new Map<string, Recorded>();
    const candidates: Candidate[] = [];
    let total = 0;
    for (const path of paths) {
      const refuse = (reason: Bilingual, extra: Partial<TransferResult> = {}) => results.set(path, { path, name: displayName(path), outcome: 'refused', ...told(reason), ...extra });
      const st = await fromHome.run(['stat', path]);
      if (st.code !== 0) {
        refuse(st.stderr ? helperReason(st.stderr) : why_.unreadable());
        continue;
      }
      const info = JSON.parse(st.stdout) as { kind: string; size: number; nlink: number; dev: number; ino: number; mtimeMs: number; ctimeMs: number };
      if (info.kind !== 'file') {
        refuse(why_.notRegular(info.kind));
        continue;
      }
      if (info.nlink > 1) {
        refuse(why_.hardLinks(), { size: info.size });
        continue;
      }
      if (info.size > rule.maxFileBytes) {
        refuse(why_.tooLarge(info.size, rule.maxFileBytes), { size: info.size });
        continue;
      }
      if (total + info.size > rule.maxTotalBytes) {
        refuse(why_.totalTooLarge(rule.maxTotalBytes), { size: info.size });
        continue;
      }
      total += info.size;
      const identity = JSON.stringify({ dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs });
      candidates.push({ path, name: displayName(path.split('/').pop()!), size: info.size, identity });
    }

    // Stage: one read of each file, into the supervisor's own folder; the decision is on those bytes.
    const staging = join(this.options.stagingDir, randomUUID());
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    this.cancelled = false;
    this.progress = { done: 0, total: total * 2, lastAt: 0 };
    try {
      const staged: Staged[] = [];
      for (const c of candidates) {
        if (this.cancelled) {
          results.set(c.path, { path: c.path, name: c.name, outcome: 'cancelled', size: c.size });
          continue;
        }
        const s = await this.stageOne(c, fromHome, join(staging, String(staged.length + results.size)));
        if ('reason' in s) {
          results.set(c.path, { path: c.path, name: c.name, outcome: s.outcome, size: c.size, ...told(s.reason) });
          continue;
        }
        if (!rule.types.includes(s.type)) {
          results.set(c.path, { path: c.path, name: c.name, outcome: 'refused', size: c.size, type: s.type, sha256: s.sha256, fingerprint: s.fingerprint, ...told(why_.typeNotAllowed(s.type, from, to)) });
          continue;
        }
        if (rule.scanner) {
          const verdict = await scanStaged(s.file, rule.scanner, rule.scannerBinds, undefined, rule.scannerNetwork);
          if (!verdict.clean) {
            results.set(c.path, { path: c.path, name: c.name, outcome: 'refused', size: c.size, type: s.type, sha256: s.sha256, fingerprint: s.fingerprint, ...told(why_.scannerRefused(verdict.said)) });
            continue;
          }
        }
        if (rule.decision === 'convert') {
          const kind = kindFor(s.type, c.name);
          const done = kind
            ? await convertDocument(s.file, kind, `${s.file}.pdf`, { dpi: rule.convert.dpi, maxPages: rule.convert.maxPages, maxPageSide: rule.convert.maxPagePixels, memoryBytes: rule.convert.memory, tasks: rule.convert.tasks, secondsPerPage: rule.convert.secondsPerPage, secondsToOpen: rule.convert.secondsToOpen, thumbnails: 3, ocr: rule.convert.ocr ? { languages: rule.convert.ocrLanguages } : null })
            : ({ ok: false, refusal: 'not-convertible', reason: refusalReason('not-convertible', `its content is ${s.type}`) } as const);
          if (!done.ok) {
            results.set(c.path, { path: c.path, name: c.name, outcome: 'refused', size: c.size, type: s.type, sha256: s.sha256, fingerprint: s.fingerprint, reason: done.reason, converter: done.refusal });
            continue;
          }
          s.converted = { file: done.file, size: done.size, sha256: done.sha256, fingerprint: this.options.journal.fingerprint(done.sha256), pages: done.pages, thumbnails: done.thumbnails, landAs: convertedName(c.path.split('/').pop()!) };
        }
        staged.push(s);
      }
      const scannerField = (r: TransferResult) => (rule.scanner ? (r.reason?.startsWith('scanner') ? 'rejected' : r.type ? 'clean' : 'not run') : 'none');
      for (const r of results.values()) record(r, r.outcome === 'cancelled' ? 'user' : 'policy', { scanner: scannerField(r), ...(r.converter ? { converter: r.converter } : {}) });

      if (staged.length > 0 && (rule.decision === 'ask' || rule.decision === 'encrypt' || rule.decision === 'convert')) {
        const answer = await this.options.confirmations.ask({
          kind: 'files',
          from: from.id,
          to: to.id,
          direction,
          files: staged.map((c) => ({ name: c.name, size: c.size, type: c.type, ...(c.converted ? { converted: { landAs: displayName(c.converted.landAs), pages: c.converted.pages, size: c.converted.size, thumbnails: c.converted.thumbnails } } : {}) })),
          totalBytes: staged.reduce((n, c) => n + c.size, 0),
          refused: [...results.values()].map((r) => ({ name: r.name, reason: r.reason ?? r.outcome, ...(r.reasonText ? { reasonText: r.reasonText } : {}) })),
          justification: why || null,
          encryptTo: rule.decision === 'encrypt' ? recipients.map(shownRecipient) : null,
        });
        if (answer !== 'accepted') {
          for (const c of staged) {
            const r: Recorded = { path: c.path, name: c.name, outcome: 'refused', size: c.size, type: c.type, sha256: c.sha256, fingerprint: c.fingerprint, ...told(answer === 'timed-out' ? why_.timedOut() : why_.refusedByUser()) };
            results.set(c.path, r);
            record(r, 'user');
          }
          return paths.map((p) => withoutFingerprint(results.get(p)!));
        }
      }

      // Commit: the staged bytes, and only those, into the destination; intent first, outcome after.
      const decidedBy = rule.decision === 'allow' ? 'policy' : 'user';
      const diode: Record<string, string> = rule.decision === 'encrypt' ? { encryptedTo: recipients.map((k) => k.fingerprint).join(',') } : {};
      for (const c of staged) {
        const base = { path: c.path, name: c.name, size: c.size, type: c.type, sha256: c.sha256, fingerprint: c.fingerprint };
        if (this.cancelled) {
          const r: Recorded = { ...base, outcome: 'cancelled' };
          results.set(c.path, r);
          record(r, 'user');
          continue;
        }
        record({ ...base, outcome: 'approved' as TransferResult['outcome'] }, decidedBy, { scanner: rule.scanner ? 'clean' : 'none', ...diode });
        let going: Staged = c;
        if (c.converted) going = { ...c, file: c.converted.file, size: c.converted.size, sha256: c.converted.sha256, fingerprint: c.converted.fingerprint, type: 'pdf', landAs: c.converted.landAs };
        if (rule.decision === 'encrypt') {
          try {
            going = await this.encrypted(c, from, recipients);
          } catch (err) {
            const r: Recorded = { ...base, outcome: 'failed', ...told(why_.encryptFailed((err as Error).message)) };
            results.set(c.path, r);
            record(r, decidedBy, diode);
            continue;
          }
        }
        const committed = await this.commitOne(going, from, toHome);
        const r: Recorded = rule.decision === 'encrypt' ? { ...committed, encrypted: true, fingerprint: going.fingerprint } : c.converted ? { ...committed, converted: { pages: c.converted.pages }, fingerprint: going.fingerprint } : { ...committed, fingerprint: c.fingerprint };
        results.set(c.path, r);
        const conversion: Record<string, string | number> = c.converted ? { originalFingerprint: c.fingerprint, pages: c.converted.pages, converter: 'converted', ocr: rule.convert.ocr ? rule.convert.ocrLanguages.join('+') : 'off' } : {};
        try {
          record(r, decidedBy, { scanner: rule.scanner ? 'clean' : 'none', ...diode, ...conversion, ...(going === c || c.converted ? {} : { plainFingerprint: c.fingerprint }) });
        } catch {
          /* the intent record stands for it; the journal counts the loss */
        }
      }
      return paths.map((p) => withoutFingerprint(results.get(p)!));
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  /** The staged copy encrypted beside it, as what goes: ciphertext, its size, its fingerprints, `.gpg`. */
  private async encrypted(c: Staged, from: LevelPolicy, recipients: RecipientKey[]): Promise<Staged> {
    const enc = await this.options.diode.encrypt(from.id, c.file, `${c.file}.gpg`, recipients);
    return { ...c, file: enc.file, size: enc.size, sha256: enc.sha256, fingerprint: this.options.journal.fingerprint(enc.sha256), landAs: `${landingName(c.path.split('/').pop()!)}.gpg` };
  }

  /** Reads one file from its cage into the staging folder, typing and hashing the very bytes staged. */
  private async stageOne(c: Candidate, fromHome: HomeAccess, file: string): Promise<Staged | { outcome: 'refused' | 'failed' | 'cancelled'; reason: Bilingual }> {
    const reader = fromHome.read(c.path, c.identity);
    const hash = createHash('sha256');
    const detector = new TypeDetector();
    let bytes = 0;
    const report = (n: number) => this.report(c.name, n);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > c.size) return done(new CloisonError('LIMIT_EXCEEDED', why_.grew(c.name)));
        hash.update(chunk);
        detector.push(chunk);
        report(chunk.length);
        done(null, chunk);
      },
    });
    this.cancelCurrent = () => {
      this.cancelled = true;
      reader.kill();
      meter.destroy(new Error('cancelled'));
    };
    let failure: Bilingual | null = null;
    // Readable by the scanner's sandbox user; the staging folder (root's, 0700) keeps everyone else out.
    await pipeline(reader.bytes, meter, createWriteStream(file, { flags: 'wx', mode: 0o644 })).catch((e: Error & { text?: Bilingual }) => (failure = e.text ?? why_.copyFailed(e.message)));
    const { code, stderr } = await reader.exited;
    if (this.cancelled) return { outcome: 'cancelled', reason: why_.cancelled() };
    if (code !== 0) return { outcome: code === 2 ? 'refused' : 'failed', reason: stderr.trim() ? helperReason(stderr) : why_.readerExited(code) };
    if (failure !== null) return { outcome: 'refused', reason: failure };
    if (bytes !== c.size) return { outcome: 'refused', reason: why_.changedSize(c.name) };
    const sha256 = hash.digest('hex');
    return { ...c, file, type: detector.finish(), sha256, fingerprint: this.options.journal.fingerprint(sha256) };
  }

  private report(file: string, n: number): void {
    this.progress.done += n;
    const now = Date.now();
    if (now - this.progress.lastAt < PROGRESS_INTERVAL_MS) return;
    this.progress.lastAt = now;
    this.options.onProgress?.({ file, doneBytes: this.progress.done, totalBytes: this.progress.total });
  }

  /**
   * Writes one staged copy into the destination's Incoming folder: the writer sandbox copies it
   * under a hidden name and fsyncs it, and links it under its name only when told to, once the
   * staged bytes went in whole; otherwise nothing is left under its name.
   */
  private async commitOne(c: Staged, from: LevelPolicy, toHome: HomeAccess): Promise<TransferResult> {
    const base = { path: c.path, name: c.name, size: c.size, type: c.type, sha256: c.sha256 };
    const writer = toHome.write(`${INCOMING}/${from.id}`, c.landAs ?? landingName(c.path.split('/').pop()!), c.file, c.size);
    this.cancelCurrent = () => {
      this.cancelled = true;
      writer.kill();
    };
    const whole = (await writer.staged) && !this.cancelled;
    if (whole) this.report(c.name, c.size);
    writer.commit(whole);
    const { code, stderr, stdout } = await writer.exited;
    if (!whole || code !== 0) {
      await toHome.run(['clean', `${INCOMING}/${from.id}`]);
      if (this.cancelled) return { ...base, outcome: 'cancelled' };
      return { ...base, outcome: code === 2 ? 'refused' : 'failed', ...told(stderr.trim() ? helperReason(stderr) : why_.writerExited(code)) };
    }
    const landedAs = (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { name?: string }).name;
    return { ...base, outcome: 'copied', ...(landedAs ? { landedAs } : {}) };
  }

  private home(level: string): HomeAccess {
    const home = this.homes.of(level);
    if (!home) throw new CloisonError('CAGE_UNAVAILABLE', why_.noReachableFiles(level));
    return home;
  }

  private level(id: string): LevelPolicy {
    const level = this.options.policy.current().levels.find((l) => l.id === id);
    if (!level) throw new CloisonError('UNKNOWN_LEVEL', why_.unknownLevel(id));
    return level;
  }
}

/** Clear text down needs the user's written reason; encrypted down does not (CLIP OS's only way down). */
function needsJustification(direction: string, decision: string): boolean {
  return direction === 'down' && decision !== 'encrypt';
}

/** A recipient as the dialog shows it: the key's user id with invisible characters made visible. */
function shownRecipient(k: RecipientKey): { uid: string; fingerprint: string } {
  return { uid: displayName(k.uid), fingerprint: k.fingerprint };
}

function withoutFingerprint(r: Recorded): TransferResult {
  const { fingerprint: _f, converter: _c, ...shown } = r;
  return shown;
}

/** A name as the dialog and the journal show it: invisible and direction characters made visible. */
export function displayName(name: string): string {
  return previewOf(name, 255).text;
}

/** A converted document's landing name: its own, with `.pdf` in place of its extension. */
function convertedName(name: string): string {
  return `${landingName(name).replace(/\.[A-Za-z0-9]{1,5}$/, '') || 'document'}.pdf`;
}

const HIDING_IN_NAME = new RegExp(`[${NAME_HIDING_CHARACTERS}]`, 'gu');

/** The name a file lands under: controls and invisible/bidi characters replaced, never empty or dotted. */
export function landingName(name: string): string {
  const cleaned = name
    .replace(HIDING_IN_NAME, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'file';
}
