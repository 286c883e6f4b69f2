/**
 * `cloison policy reload` with a cage manager (#29 review): the moment of a reload is the
 * administrator's, so the command, run as root, signals the manager itself (SIGHUP, as `systemctl
 * reload cloison-cage-manager` does) rather than asking the cloison part, which could otherwise
 * choose when (a part watching the file asked while a save stalled, and had a cut policy applied).
 * The manager's verdict is read in its journal (what it wrote after the signal), then the part is
 * watched until it runs the same text (the manager passes the signal on once it took the policy).
 */
import { readFileSync, statSync } from 'node:fs';
import { adminCall } from './adminClient';
import type { ManagerWhereabouts } from '../cageManager/managerWhereabouts';

export interface ManagerReloadOptions {
  manager: ManagerWhereabouts;
  /** The part's admin socket, to see it run the manager's text; none: not watched. */
  adminSocket?: string;
  out(line: string): void;
  err(line: string): void;
  /** How long the manager's verdict is waited for (it reads a file being written again, a few times, 1.2 s apart). */
  verdictMs?: number;
  partMs?: number;
}

type Verdict = { decision: string; sha256?: string; levels?: string; reason?: string };

export async function reloadThroughManager(options: ManagerReloadOptions): Promise<number> {
  const { manager, out, err } = options;
  if (process.getuid?.() !== 0) {
    err('the cage manager reads its policy again only when root signals it: run `sudo cloison policy reload`, or `systemctl reload cloison-cage-manager`');
    return 1;
  }
  const from = sizeOf(manager.journal);
  process.kill(manager.pid, 'SIGHUP');
  let verdict: Verdict | null = null;
  let beingWritten = false;
  const until = Date.now() + (options.verdictMs ?? 10_000);
  while (!verdict && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    for (const record of reloadRecordsSince(manager.journal, from)) {
      if (record.decision === 'being-written') beingWritten = true;
      else verdict = record;
    }
  }
  if (!verdict) {
    out('decision: refused');
    out(`reason: ${beingWritten ? 'the policy file was still being written: the running policy stays; save it whole, then reload again' : `no verdict in the cage manager's journal (${manager.journal}) within ${Math.round((options.verdictMs ?? 10_000) / 1000)} s`}`);
    return 1;
  }
  out(`decision: ${verdict.decision}`);
  for (const key of ['sha256', 'levels', 'reason'] as const) if (verdict[key]) out(`${key}: ${verdict[key]}`);
  if (verdict.decision !== 'applied') return 1;
  if (options.adminSocket) out(`cloison part: ${await partRuns(options.adminSocket, verdict.sha256 ?? '', options.partMs ?? 15_000)}`);
  return 0;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The manager's `policy.reload` records of a SIGHUP written past `from` bytes. */
function reloadRecordsSince(journal: string, from: number): Verdict[] {
  let text: string;
  try {
    text = readFileSync(journal).subarray(from).toString('utf8');
  } catch {
    return [];
  }
  const records: Verdict[] = [];
  for (const line of text.split('\n')) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.kind === 'policy.reload' && record.asker === 'SIGHUP' && typeof record.decision === 'string') records.push(record as Verdict);
    } catch {
      /* a line still being written, or none */
    }
  }
  return records;
}

/** Whether the part runs the text the manager took (its `policy.get`), waited for a while. */
async function partRuns(socket: string, sha256: string, withinMs: number): Promise<string> {
  const until = Date.now() + withinMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const reply = await adminCall(socket, 'policy.get', undefined, 5000);
      if (reply.ok && (reply.result as { sha256?: string }).sha256 === sha256) return 'runs it';
      last = reply.ok ? 'it still runs another policy' : reply.error.message;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return `does not run it yet (${last}): its journal says why`;
}
