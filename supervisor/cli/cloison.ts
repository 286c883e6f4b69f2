/**
 * `cloison`: the administrator's command line.
 *   cloison policy check FILE     validate a policy; prints the effective policy or every problem,
 *                                 and how it differs from the running supervisor's
 *   cloison policy reload         the supervisor re-reads its policy (refused if invalid); with a
 *                                 cage manager, run as root: it signals the manager (SIGHUP) and
 *                                 prints its verdict from its journal [--manager-run-dir DIR,
 *                                 default the admin socket's folder without -broker, or /run/cloison]
 *   cloison status                the supervisor's policy, cages and device counts
 *   cloison lock                  locks the workstation now (there is no unlock: only its user can)
 *   cloison training start SCENARIO.yaml --trainee NAME   a training session (policy: training: allowed)
 *   cloison training status | stop          where it is; end it (its report is written)
 *   cloison training report --out DIR       the last report, as HTML and JSON, into DIR
 *   (these take --socket PATH, default /run/cloison/admin.sock)
 *   cloison audit verify [--key KEYFILE] FILE  check the journal's keyed chain with the installation key
 *                                 (default: journal.key beside FILE); exit 1 on any edit, removal,
 *                                 reorder or forgery; without a readable key only the links are
 *                                 checked, and it says so (exit 2); --anchor MANAGER_JOURNAL: also
 *                                 that FILE (the cloison part's) still begins with the records the
 *                                 cage manager moved from the root supervisor (exit 1 if rewritten)
 *   cloison audit tail [-n N] FILE        the last N records (default 20), one JSON line each
 *   cloison audit export --since ISO FILE the records at or after a time, one JSON line each
 * The journal holds metadata only: nothing these commands print is content that crossed levels.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { readHead, verifyJournal } from '../audit/auditJournal';
import { keyPathOf, readJournalKeys } from '../audit/journalKey';
import { anchorInManagerJournal, checkAnchor } from '../audit/journalAnchor';
import { loadPolicyFile, PolicyError } from '../policy/policyLoader';
import { describeChanges, policyChanges } from '../policy/policyChanges';
import type { Policy } from '../../shared/policy';
import type { TrainingView } from '../../shared/trainingScenario';
import type { ReloadOutcome } from '../policy/policyReloader';
import { adminCall, defaultAdminSocket } from './adminClient';
import { findManager } from '../cageManager/managerWhereabouts';
import { reloadThroughManager } from './managerReload';

const USAGE = 'usage: cloison policy check FILE [--socket PATH] | cloison policy reload [--socket PATH] [--manager-run-dir DIR] | cloison status [--socket PATH] | cloison lock [--socket PATH] | cloison training start SCENARIO --trainee NAME | cloison training status | cloison training stop | cloison training report --out DIR | cloison audit verify [--key KEYFILE] [--anchor MANAGER_JOURNAL] FILE | cloison audit tail [-n N] FILE | cloison audit export --since ISO-TIME FILE';

export function runCli(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  if (argv[0] === 'audit' && (argv[1] === 'tail' || argv[1] === 'export')) return auditRead(argv.slice(1), out, err);
  if (argv[0] === 'audit' && argv[1] === 'verify') return auditVerify(argv.slice(2), out, err);
  const [area, verb, file, ...rest] = argv;
  if (!file || rest.length > 0) {
    err(USAGE);
    return 64;
  }
  if (area === 'policy' && verb === 'check') {
    try {
      const policy = loadPolicyFile(file);
      out(`${file}: policy is valid (${policy.levels.length} levels)\n--- effective policy ---\n${stringify(policy)}`);
      return 0;
    } catch (e) {
      if (e instanceof PolicyError) {
        err(e.message);
        return 1;
      }
      throw e;
    }
  }
  err(USAGE);
  return 64;
}

function auditVerify(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const options: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!;
    if ((name === '--key' || name === '--anchor') && !(name in options) && argv[i + 1]) options[name] = argv[++i]!;
    else rest.push(name);
  }
  const keyFile = options['--key'];
  const file = rest[0];
  if (!file || rest.length !== 1 || file.startsWith('--')) {
    err(USAGE);
    return 64;
  }
  const journal = readVerifiedJournal(file, err, keyFile);
  if (!journal) return 1;
  const anchorFile = options['--anchor'];
  if (anchorFile) {
    const anchored = anchoredByManager(journal.text, anchorFile);
    if (!anchored.ok) {
      err(`${file}: ${anchored.error}`);
      return 1;
    }
    out(`${file}: its first ${anchored.records} records are those the cage manager moved from the root supervisor (${anchorFile})`);
  }
  if (!journal.authenticated) {
    out(`${file}: ${journal.count} records, links intact — NOT authenticated: the installation key (${keyFile ?? keyPathOf(file)}) cannot be read here, so an edited record would pass`);
    return 2;
  }
  out(`${file}: ${journal.count} records, chain intact, authenticated with the installation key`);
  return 0;
}

/**
 * The part's journal against the anchor the cage manager wrote when it moved the root supervisor's
 * journal (its own journal, verified with its own key first: an anchor is only as good as it).
 */
function anchoredByManager(text: string, managerJournal: string): { ok: true; records: number } | { ok: false; error: string } {
  const manager = readVerifiedJournal(managerJournal, () => undefined);
  if (!manager) return { ok: false, error: `the cage manager's journal ${managerJournal} cannot be read or does not verify: nothing to check against` };
  if (!manager.authenticated) return { ok: false, error: `the cage manager's journal ${managerJournal} cannot be authenticated here (its key unreadable): nothing to check against` };
  const anchor = anchorInManagerJournal(manager.text);
  if (!anchor) return { ok: false, error: `${managerJournal} has no state.movedToPart record with the moved journal's anchor` };
  const check = checkAnchor(text, anchor);
  return check.ok ? { ok: true, records: anchor.records } : check;
}

/** Reads a journal and checks its chain and head (with the key when readable); says why on stderr and returns null if either fails. */
function readVerifiedJournal(file: string, err: (s: string) => void, keyFile?: string): { text: string; count: number; authenticated: boolean } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    err(`${file}: cannot read: ${(e as Error).message}`);
    return null;
  }
  const keys = readJournalKeys(keyFile ?? keyPathOf(file));
  if (keyFile && !keys) {
    err(`${keyFile}: cannot read the installation key`);
    return null;
  }
  const check = verifyJournal(text, readHead(file), keys);
  if (!check.ok) {
    err(`${file}: ${check.error}`);
    return null;
  }
  return { text, count: check.count, authenticated: check.authenticated };
}

/** `audit tail` and `audit export`: read a verified journal, print records as JSON lines. */
function auditRead(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [verb, ...rest] = argv;
  const file = rest.at(-1);
  const option = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 && i < rest.length - 2 ? rest[i + 1] : undefined;
  };
  if (!file || file.startsWith('-')) {
    err(USAGE);
    return 64;
  }
  // Never present records from a journal that does not verify as if they were trustworthy.
  const journal = readVerifiedJournal(file, err);
  if (!journal) return 1;
  const lines = journal.text.split('\n').filter(Boolean);
  if (verb === 'tail') {
    const n = Number(option('-n') ?? 20);
    if (!Number.isInteger(n) || n < 1) {
      err('-n takes a whole number of records');
      return 64;
    }
    for (const line of lines.slice(-n)) out(line);
    return 0;
  }
  const since = option('--since');
  const from = since ? Date.parse(since) : NaN;
  if (Number.isNaN(from)) {
    err('--since takes a date and time, e.g. 2026-11-27T08:00:00Z');
    return 64;
  }
  for (const line of lines) if (Date.parse((JSON.parse(line) as { time: string }).time) >= from) out(line);
  return 0;
}

/** The manager's run folder beside the part's (packaged: /run/cloison beside /run/cloison-broker), or the default one. */
function managerRunDirOf(adminSocket: string): string {
  const folder = dirname(adminSocket);
  return folder.endsWith('-broker') ? folder.slice(0, -'-broker'.length) : '/run/cloison';
}

/**
 * The whole command line: the admin-socket commands (status, policy reload, and policy check's
 * comparison with the running policy), then the local ones.
 */
export async function runCliWithSupervisor(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const socketAt = argv.indexOf('--socket');
  const socket = socketAt >= 0 ? argv[socketAt + 1] : defaultAdminSocket();
  let args = socketAt >= 0 ? [...argv.slice(0, socketAt), ...argv.slice(socketAt + 2)] : argv;
  const managerAt = args.indexOf('--manager-run-dir');
  // Looked for beside the packaged sockets only: an explicit socket elsewhere is a supervisor of its own (a test's, a second one).
  const besidePackaged = socket !== undefined && (socketAt < 0 || dirname(socket).endsWith('-broker'));
  const managerRunDir = managerAt >= 0 ? args[managerAt + 1] : besidePackaged ? managerRunDirOf(socket) : undefined;
  if (managerAt >= 0) args = [...args.slice(0, managerAt), ...args.slice(managerAt + 2)];
  if (!socket) {
    err(USAGE);
    return 64;
  }
  const call = async (method: string, params?: unknown): Promise<unknown> => {
    const reply = await adminCall(socket, method, params);
    if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  };
  try {
    if (args.length === 1 && args[0] === 'status') {
      out(stringify(await call('status')));
      return 0;
    }
    if (args.length === 1 && args[0] === 'lock') {
      await call('session.lock');
      out('the workstation is locked: its user unlocks it with the secure-attention key and their password');
      return 0;
    }
    if (args[0] === 'training') return await trainingCommand(args.slice(1), call, out, err);
    if (args.length === 2 && args[0] === 'policy' && args[1] === 'reload') {
      // With a cage manager, root signals it (the moment is the administrator's): managerReload.ts.
      let found = managerRunDir ? findManager(managerRunDir) : { absent: true as const };
      // A manager gone from the default place (stopped, or an install switched back to the root supervisor): the socket's own supervisor is asked.
      if ('problem' in found && found.gone && managerAt < 0) found = { absent: true as const };
      if ('problem' in found) {
        err(`cannot reach the cage manager: ${found.problem}; \`systemctl reload cloison-cage-manager\` reloads it`);
        return 1;
      }
      if ('manager' in found) return await reloadThroughManager({ manager: found.manager, adminSocket: socket, out, err });
      // A root supervisor alone reads its file itself when asked.
      const outcome = (await call('policy.reload')) as ReloadOutcome;
      out(stringify(outcome));
      return outcome.decision === 'refused' ? 1 : 0;
    }
  } catch (e) {
    err((e as Error).message);
    return 1;
  }
  const code = runCli(args, out, err);
  if (code === 0 && args[0] === 'policy' && args[1] === 'check' && args[2]) {
    try {
      const running = (await call('policy.get')) as { source: string; policy: Policy };
      out(`--- difference from the running policy (${running.source}) ---\n${describeChanges(policyChanges(running.policy, loadPolicyFile(args[2]))).join('\n')}`);
    } catch (e) {
      out(`--- no running supervisor to compare with (${(e as Error).message}) ---`);
    }
  }
  return code;
}

/** `cloison training …`: the scenario is read here, with the trainer's rights; the report is written here too. */
async function trainingCommand(args: string[], call: (method: string, params?: unknown) => Promise<unknown>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [verb, ...rest] = args;
  const option = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  if (verb === 'start' && rest.length === 3 && rest[0] && !rest[0].startsWith('-') && option('--trainee')) {
    const file = rest[0];
    let scenarioText: string;
    try {
      scenarioText = readFileSync(file, 'utf8');
    } catch (e) {
      err(`${file}: cannot read the scenario: ${(e as Error).message}`);
      return 1;
    }
    const view = (await call('training.start', { scenarioFile: file, scenarioText, trainee: option('--trainee') })) as TrainingView;
    out(`training session started for ${view.trainee}: "${view.title.en}", ${view.total} drills; the band shows FORMATION / TRAINING until it is stopped`);
    return 0;
  }
  if (verb === 'status' && rest.length === 0) {
    const { session, report } = (await call('training.status')) as { session: TrainingView | null; report: string | null };
    if (!session) out(`no training session${report ? ` (last report: ${report})` : ''}`);
    else out(stringify({ trainee: session.trainee, scenario: session.title.en, phase: session.phase, drill: `${Math.min(session.current + 1, session.total)} / ${session.total}`, results: session.results.map((r) => `${r.passed ? 'passed' : 'missed'}: ${r.kind} — ${r.details.en}`) }));
    return 0;
  }
  if (verb === 'stop' && rest.length === 0) {
    const { report } = (await call('training.stop')) as { report: string | null };
    out(`no training session now; ${report ? `its report: ${report} (cloison training report --out DIR)` : 'no report was written'}`);
    return 0;
  }
  if (verb === 'report' && rest.length === 2 && option('--out')) {
    const report = (await call('training.report')) as { name: string; json: string; html: string };
    const dir = option('--out')!;
    mkdirSync(dir, { recursive: true });
    const base = join(dir, report.name.replace(/[^A-Za-z0-9._-]/g, '_'));
    writeFileSync(`${base}.html`, report.html);
    writeFileSync(`${base}.json`, report.json);
    out(`${base}.html\n${base}.json`);
    return 0;
  }
  err(USAGE);
  return 64;
}

if (process.argv[1] && /cloison(\.js|\.ts)?$/.test(process.argv[1])) {
  void runCliWithSupervisor(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s)).then((code) => (process.exitCode = code));
}
