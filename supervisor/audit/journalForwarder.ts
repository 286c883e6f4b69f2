/**
 * Copies every audit record to the system's log so a fleet's existing collection (journald
 * forwarding, rsyslog to a SIEM) gathers it: to journald with one structured field per record
 * field (CLOISON_KIND, CLOISON_SEQ, CLOISON_HASH, CLOISON_F_LEVEL…), or to syslog as RFC 5424
 * structured data ([cloison@32473 kind="…" seq="…" …]). Both go through util-linux's `logger`,
 * one record at a time, in order. The local hash-chained file stays the reference: a forwarding
 * failure is logged and counted, never allowed to block or fail a decision.
 *
 * Metadata only leaves the workstation (docs/design.md, Audit journal; issue #27): the system log is
 * read by the `adm` group and shipped to a SIEM, so file names, labels, serials, justifications,
 * reports and every text a cage, a device or a user chose leave as their length and keyed
 * fingerprint; the local journal keeps them.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AuditRecord } from './auditJournal';

export type ForwardTarget = { kind: 'journald' } | { kind: 'syslog'; socket: string } | { kind: 'none' };

const JOURNALD_SOCKET = '/run/systemd/journal/socket';
const SYSLOG_SOCKET = '/dev/log';
/** RFC 5424 SD-ID with an enterprise number: private use, as the RFC's examples do. */
export const SD_ID = 'cloison@32473';
const MAX_VALUE = 512;

/** `auto` (journald if it runs, else syslog if /dev/log exists, else none), `journald`, `syslog`, `syslog:PATH`, `none`. */
export function forwardTargetFrom(option = 'auto'): ForwardTarget {
  if (option === 'none') return { kind: 'none' };
  if (option === 'journald') return { kind: 'journald' };
  if (option === 'syslog') return { kind: 'syslog', socket: SYSLOG_SOCKET };
  if (option.startsWith('syslog:')) return { kind: 'syslog', socket: option.slice('syslog:'.length) };
  if (option !== 'auto') throw new Error(`--forward-journal: expected auto, journald, syslog, syslog:PATH or none, not "${option}"`);
  if (existsSync(JOURNALD_SOCKET)) return { kind: 'journald' };
  if (existsSync(SYSLOG_SOCKET)) return { kind: 'syslog', socket: SYSLOG_SOCKET };
  return { kind: 'none' };
}

export interface ForwarderOptions {
  maxQueue?: number;
  /** The journal's keyed fingerprint of a text (journalKey.ts): equal text, equal fingerprint, no dictionary. */
  fingerprint?: (text: string) => string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class JournalForwarder {
  private readonly queue: AuditRecord[] = [];
  private busy: Promise<void> | null = null;
  dropped = 0;
  failed = 0;

  constructor(
    readonly target: ForwardTarget,
    private readonly options: ForwarderOptions = {},
  ) {}

  forward(record: AuditRecord): void {
    if (this.target.kind === 'none') return;
    if (this.queue.length >= (this.options.maxQueue ?? 1000)) {
      this.dropped++;
      return;
    }
    this.queue.push(forwardable(record, this.options.fingerprint ?? unkeyed));
    this.busy ??= this.pump();
  }

  /** Resolves once every queued record has been handed to logger. */
  async drain(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private async pump(): Promise<void> {
    for (let record = this.queue.shift(); record; record = this.queue.shift()) {
      try {
        await runLogger(this.target, record);
      } catch (err) {
        this.failed++;
        this.options.log?.('forwarding an audit record failed', { seq: record.seq, error: (err as Error).message });
      }
    }
    this.busy = null;
  }
}

function runLogger(target: ForwardTarget, record: AuditRecord): Promise<void> {
  const summary = messageOf(record);
  const args =
    target.kind === 'journald'
      ? ['--journald']
      : ['--rfc5424', '--socket-errors=on', '-u', (target as { socket: string }).socket, '-t', 'cloison', '-p', 'auth.info', '--sd-id', SD_ID, ...Object.entries(record).flatMap(([k, v]) => ['--sd-param', `${sdName(k)}="${sdValue(v)}"`]), '--', summary];
  return new Promise((resolve, reject) => {
    const child = spawn('logger', args, { stdio: [target.kind === 'journald' ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`logger exited ${code}: ${stderr.trim().slice(0, 200)}`))));
    if (target.kind === 'journald') child.stdin?.end(journalFields(record, summary));
  });
}

/** One line for people: "usb.attach by supervisor: level=low mode=read-write …". */
function messageOf(record: AuditRecord): string {
  const { kind, actor, seq: _s, time: _t, prev: _p, hash: _h, ...fields } = record;
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${oneLine(String(v)).slice(0, 80)}`).join(' ');
  return `${kind} by ${actor}${rest ? `: ${rest}` : ''}`.slice(0, 1000);
}

function journalFields(record: AuditRecord, summary: string): string {
  const lines = [`MESSAGE=${summary}`, 'SYSLOG_IDENTIFIER=cloison', 'PRIORITY=6', `CLOISON_KIND=${oneLine(record.kind)}`, `CLOISON_ACTOR=${oneLine(record.actor)}`, `CLOISON_SEQ=${record.seq}`, `CLOISON_HASH=${record.hash}`];
  for (const [key, value] of Object.entries(record)) {
    if (['kind', 'actor', 'seq', 'hash'].includes(key)) continue;
    lines.push(`CLOISON_F_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]/g, '_').toUpperCase().slice(0, 50)}=${oneLine(String(value)).slice(0, MAX_VALUE)}`);
  }
  return lines.join('\n') + '\n';
}

function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** RFC 5424 PARAM-NAME: printable ASCII without = space ] ", at most 32 characters. */
function sdName(key: string): string {
  return key.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32);
}

/** RFC 5424 PARAM-VALUE: ", \ and ] escaped with a backslash. */
function sdValue(value: unknown): string {
  return oneLine(String(value)).slice(0, MAX_VALUE).replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/**
 * Text fields whose values the supervisor itself chooses (ids, levels, decisions, hashes, the
 * policy's own names): they leave as they are. Any other text — names, labels, serials, reasons
 * that quote them, a helper's output, fields added later — leaves as its length and fingerprint.
 */
const METADATA_FIELDS = new Set([
  'kind', 'actor', 'time', 'prev', 'hash', 'alg', 'level', 'from', 'to', 'direction', 'decision', 'outcome', 'fingerprint', 'plainFingerprint', 'type',
  'cause', 'user', 'device', 'bus', 'vendorId', 'productId', 'fsType', 'mode', 'boundTo', 'rule', 'mark', 'markId', 'erased', 'wasMarkedFor', 'session',
  'scanner', 'source', 'sha256', 'levels', 'changes', 'restarted', 'action', 'limit', 'state', 'endpoint', 'transport', 'step', 'trainee', 'scenario', 'report',
]);
/** Kinds whose `reason` is the supervisor's own sentence, naming nothing a cage or device chose. */
const AUTHORED_REASONS = new Set(['vnc.refused', 'session.unlock-refused', 'policy.reload']);

/** Without the journal's key (tests of the transport only): a fingerprint that proves nothing. */
const unkeyed = (text: string) => createHash('sha256').update(`cloison unkeyed:${text}`).digest('hex');

/**
 * What leaves the workstation: metadata only. Chosen text stays in the local journal; its copy
 * carries `<field>Length` (characters) and `<field>Fingerprint`. The record's HMAC still names the
 * whole record, which the local journal can prove.
 */
export function forwardable(record: AuditRecord, fingerprint: (text: string) => string): AuditRecord {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string' || METADATA_FIELDS.has(key) || (key === 'reason' && AUTHORED_REASONS.has(record.kind)) || key === 'seq') {
      out[key] = value;
      continue;
    }
    out[`${key}Length`] = [...value].length;
    out[`${key}Fingerprint`] = fingerprint(value);
  }
  return out as AuditRecord;
}
