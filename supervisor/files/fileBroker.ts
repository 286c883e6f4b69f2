/**
 * The file broker (the diode): files picked in one cage's home land in another cage's
 * `~/Incoming/<source level>/`, each checked against the policy for its direction (and pair),
 * confirmed by the user when the policy says `ask`, copied by streaming (sha256 on the way),
 * staged, scanned, and linked without overwriting — or refused with the reason. The journal gets
 * one record per file: direction, name, size, sha256, type, decision, scanner verdict,
 * justification. Never the content.
 *
 * The supervisor never opens a path a cage controls: reading and writing happen in per-cage
 * helper sandboxes (cageFileSandbox.ts) that see only that cage's home, as that cage's user.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Transform, type Writable } from 'node:stream';
import { NAME_HIDING_CHARACTERS, previewOf } from '../../shared/clipboardText';
import { CloisonError } from '../../shared/errors';
import { directionBetween, fileRuleFor, type LevelPolicy, type Policy } from '../../shared/policy';
import type { TransferResult } from '../../shared/rpc';
import type { AuditJournal } from '../audit/auditJournal';
import type { Confirmations } from '../confirm/confirmations';
import { runFileHelper, spawnFileHelper, type CageHome } from './cageFileSandbox';
import { detectType, type FileType } from './fileTypes';

export interface FileBrokerOptions {
  policy: Policy;
  /** A bwrap cage's home and uid; null for cages the supervisor cannot reach files in. */
  homeOf: (level: string) => CageHome | null;
  confirmations: Confirmations;
  journal: AuditJournal;
  /** Progress of the running transfer, at most every PROGRESS_INTERVAL_MS. */
  onProgress?: (p: { file: string; doneBytes: number; totalBytes: number }) => void;
}

const PROGRESS_INTERVAL_MS = 250;

interface Candidate {
  path: string;
  name: string;
  size: number;
  type: FileType;
}

export const INCOMING = 'Incoming';
const MAX_JUSTIFICATION = 1000;

export class FileBroker {
  private cancelCurrent: (() => void) | null = null;
  private cancelled = false;
  private progress = { done: 0, total: 0, lastAt: 0 };

  constructor(private readonly options: FileBrokerOptions) {}

  /** Directory listing for the trusted picker; names shown with invisible characters made visible. */
  async list(level: string, path: string) {
    const home = this.home(level);
    const r = await runFileHelper(home, ['list', path]);
    if (r.code !== 0) throw new CloisonError('BAD_REQUEST', r.stderr || 'cannot list that directory');
    const entries = JSON.parse(r.stdout) as Array<{ name: string; kind: string; size: number }>;
    return entries.map((e) => ({ path: path ? `${path.replace(/\/+$/, '')}/${e.name}` : e.name, name: displayName(e.name), kind: e.kind, size: e.size }));
  }

  /** Removes what an interrupted transfer (a killed supervisor) left half-written. */
  async cleanPartials(): Promise<void> {
    for (const to of this.options.policy.levels) {
      const home = this.options.homeOf(to.id);
      if (!home) continue;
      for (const from of this.options.policy.levels) {
        if (from.id !== to.id && existsSync(join(home.home, INCOMING, from.id))) await runFileHelper(home, ['clean', `${INCOMING}/${from.id}`]);
      }
    }
  }

  cancel(): boolean {
    if (!this.cancelCurrent) return false;
    this.cancelled = true;
    this.cancelCurrent();
    return true;
  }

  async transfer(fromId: string, toId: string, paths: string[], justification?: string): Promise<TransferResult[]> {
    const from = this.level(fromId);
    const to = this.level(toId);
    if (from.id === to.id) throw new CloisonError('BAD_REQUEST', 'source and destination are the same level');
    if (this.cancelCurrent) throw new CloisonError('LIMIT_EXCEEDED', 'a transfer is already running');
    const fromHome = this.home(from.id);
    const toHome = this.home(to.id);
    const rule = fileRuleFor(this.options.policy, from, to);
    const direction = directionBetween(from, to);
    const why = justification?.trim() ?? '';
    const record = (r: TransferResult, decidedBy: string, extra: Record<string, string | number | null> = {}) =>
      this.options.journal.append('file.transfer', decidedBy, {
        from: from.id,
        to: to.id,
        direction,
        name: r.name,
        size: r.size ?? null,
        sha256: r.sha256 ?? null,
        type: r.type ?? null,
        decision: r.outcome,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.landedAs ? { landedAs: displayName(r.landedAs) } : {}),
        ...(why ? { justification: why } : {}),
        ...extra,
      });

    if (rule.decision === 'deny') {
      const reason = `the policy forbids ${direction} file transfers from ${from.id} to ${to.id}`;
      return paths.map((path) => {
        const r: TransferResult = { path, name: displayName(path), outcome: 'denied', reason };
        record(r, 'policy');
        return r;
      });
    }
    // Down transfers, where allowed at all, carry a written justification.
    if (direction === 'down' && why.length === 0) throw new CloisonError('BAD_REQUEST', 'a transfer to a lower level needs a written justification');
    if (why.length > MAX_JUSTIFICATION) throw new CloisonError('LIMIT_EXCEEDED', `justification over ${MAX_JUSTIFICATION} characters`);
    if (paths.length > rule.maxCount) throw new CloisonError('LIMIT_EXCEEDED', `${paths.length} files is over the limit of ${rule.maxCount} per transfer`);

    // Pre-flight every file: what the policy refuses is refused before anything moves.
    const results = new Map<string, TransferResult>();
    const candidates: Candidate[] = [];
    let total = 0;
    for (const path of paths) {
      const refuse = (reason: string, extra: Partial<TransferResult> = {}) => results.set(path, { path, name: displayName(path), outcome: 'refused', reason, ...extra });
      const st = await runFileHelper(fromHome, ['stat', path]);
      if (st.code !== 0) {
        refuse(st.stderr || 'cannot read it');
        continue;
      }
      const info = JSON.parse(st.stdout) as { kind: string; size: number; head: string };
      if (info.kind !== 'file') {
        refuse(`not a regular file (${info.kind})`);
        continue;
      }
      const type = detectType(Buffer.from(info.head, 'hex'), info.size);
      if (info.size > rule.maxFileBytes) {
        refuse(`${info.size} bytes is over the ${rule.maxFileBytes}-byte limit per file`, { size: info.size, type });
        continue;
      }
      if (!rule.types.includes(type)) {
        refuse(`its content is ${type}, which the policy does not allow from ${from.id} to ${to.id}`, { size: info.size, type });
        continue;
      }
      if (total + info.size > rule.maxTotalBytes) {
        refuse(`the transfer would exceed ${rule.maxTotalBytes} bytes`, { size: info.size, type });
        continue;
      }
      total += info.size;
      candidates.push({ path, name: displayName(path.split('/').pop()!), size: info.size, type });
    }
    for (const r of results.values()) record(r, 'policy');

    if (candidates.length > 0 && rule.decision === 'ask') {
      const answer = await this.options.confirmations.ask({
        kind: 'files',
        from: from.id,
        to: to.id,
        direction,
        files: candidates.map((c) => ({ name: c.name, size: c.size, type: c.type })),
        totalBytes: total,
        refused: [...results.values()].map((r) => ({ name: r.name, reason: r.reason ?? '' })),
        justification: why || null,
      });
      if (answer !== 'accepted') {
        for (const c of candidates) {
          const r: TransferResult = { path: c.path, name: c.name, outcome: 'refused', size: c.size, type: c.type, reason: answer === 'timed-out' ? 'no answer in time' : 'refused by the user' };
          results.set(c.path, r);
          record(r, 'user');
        }
        return paths.map((p) => results.get(p)!);
      }
    }

    this.cancelled = false;
    this.progress = { done: 0, total, lastAt: 0 };
    for (const c of candidates) {
      if (this.cancelled) {
        const r: TransferResult = { path: c.path, name: c.name, outcome: 'cancelled', size: c.size, type: c.type };
        results.set(c.path, r);
        record(r, 'user');
        continue;
      }
      const r = await this.copyOne(c, from, fromHome, toHome, rule.scanner);
      results.set(c.path, r);
      record(r, rule.decision === 'ask' ? 'user' : 'policy', { scanner: rule.scanner ? (r.outcome === 'copied' ? 'clean' : r.reason?.startsWith('scanner') ? 'rejected' : 'not run') : 'none' });
    }
    return paths.map((p) => results.get(p)!);
  }

  /**
   * Streams one file: reader sandbox → sha256 → writer sandbox, which stages and scans it; the
   * writer links it under its name only when told to, once the source was read whole and unchanged.
   */
  private async copyOne(c: Candidate, from: LevelPolicy, fromHome: CageHome, toHome: CageHome, scanner: string[] | null): Promise<TransferResult> {
    const base = { path: c.path, name: c.name, size: c.size, type: c.type };
    const reader = spawnFileHelper(fromHome, ['read', c.path]);
    const writer = spawnFileHelper(toHome, ['write', `${INCOMING}/${from.id}`, landingName(c.path.split('/').pop()!), ...(scanner ?? [])], ['pipe', 'pipe', 'pipe', 'pipe']);
    // Listen for both exits at once: a process killed before we wait for it must still be seen.
    const exitOf = (p: ChildProcess) => new Promise<number>((r) => p.on('close', (code) => r(code ?? -1)));
    const readerExit = exitOf(reader);
    const writerExit = exitOf(writer);
    const control = writer.stdio[3] as Writable;
    control.on('error', () => {});
    writer.stdin!.on('error', () => {});
    const hash = createHash('sha256');
    let bytes = 0;
    let failure: string | null = null;
    const tail = { reader: '', writer: '', out: '' };
    reader.stderr!.on('data', (d: Buffer) => (tail.reader = (tail.reader + d).slice(-1000)));
    writer.stderr!.on('data', (d: Buffer) => (tail.writer = (tail.writer + d).slice(-1000)));
    const staged = new Promise<boolean>((resolve) => {
      writer.stdout!.on('data', (d: Buffer) => {
        tail.out += d.toString();
        if (tail.out.includes('"staged"')) resolve(true);
      });
      writer.on('close', () => resolve(false));
    });
    const report = (n: number) => {
      this.progress.done += n;
      const now = Date.now();
      if (now - this.progress.lastAt < PROGRESS_INTERVAL_MS) return;
      this.progress.lastAt = now;
      this.options.onProgress?.({ file: c.name, doneBytes: this.progress.done, totalBytes: this.progress.total });
    };
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > c.size) return done(new Error(`${c.name} grew while being copied`));
        hash.update(chunk);
        report(chunk.length);
        done(null, chunk);
      },
    });
    const abort = (why: string) => {
      failure ??= why;
      reader.kill('SIGKILL');
      writer.kill('SIGKILL');
      // A paused pipe never reads its EOF: destroy our ends so both processes are seen to close.
      reader.stdout!.destroy();
      hasher.destroy();
      writer.stdin!.destroy();
    };
    this.cancelCurrent = () => abort('cancelled');
    hasher.on('error', (e) => abort(e.message));
    reader.stdout!.pipe(hasher).pipe(writer.stdin!);
    const readerCode = await readerExit;
    const complete = readerCode === 0 && failure === null && bytes === c.size;
    const isStaged = complete ? await staged : false;
    if (isStaged) control.end('c');
    else control.end(); // EOF: the writer drops its staged copy
    const writerCode = await writerExit;
    this.cancelCurrent = null;
    if (failure === 'cancelled') {
      await runFileHelper(toHome, ['clean', `${INCOMING}/${from.id}`]);
      return { ...base, outcome: 'cancelled' };
    }
    if (!complete) {
      await runFileHelper(toHome, ['clean', `${INCOMING}/${from.id}`]);
      const reason = failure ?? (tail.reader.trim() || (bytes !== c.size ? `${c.name} changed size while being copied` : `reader exited ${readerCode}`));
      return { ...base, outcome: readerCode === 2 || failure !== null || bytes !== c.size ? 'refused' : 'failed', reason };
    }
    if (writerCode !== 0) return { ...base, outcome: writerCode === 2 ? 'refused' : 'failed', reason: tail.writer.trim() || `writer exited ${writerCode}` };
    const landedAs = (JSON.parse(tail.out.trim().split('\n').pop() ?? '{}') as { name?: string }).name;
    return { ...base, outcome: 'copied', sha256: hash.digest('hex'), ...(landedAs ? { landedAs } : {}) };
  }

  private home(level: string): CageHome {
    const home = this.options.homeOf(level);
    if (!home) throw new CloisonError('CAGE_UNAVAILABLE', `cage "${level}" has no files the supervisor can reach (external VNC endpoint)`);
    return home;
  }

  private level(id: string): LevelPolicy {
    const level = this.options.policy.levels.find((l) => l.id === id);
    if (!level) throw new CloisonError('UNKNOWN_LEVEL', `no level "${id}" in the policy`);
    return level;
  }
}

/** A name as the dialog and the journal show it: invisible and direction characters made visible. */
export function displayName(name: string): string {
  return previewOf(name, 255).text;
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
