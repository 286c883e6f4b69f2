/**
 * The switch from the root supervisor to the split (#29) keeps the user's state: at the manager's
 * start, before its part starts, the files the root supervisor kept in its state folder that the
 * part reads in its own (the part is the same supervisor code) are MOVED there — one journal, one
 * key, the chain going on; the trust phrase the user chose, not a new question; the diode's keys,
 * the resume tokens, the screens remembered, the lock left locked. Only when the part's folder has
 * none of them (a part that already started fresh keeps its own; a second start moves nothing).
 *
 * The part's folder is the `cloison` account's: a compromised part may have planted anything in
 * it. Root only ever CREATES a name there that must not exist — link(2), which neither follows
 * nor replaces what is at the new name, or rename(2) of a folder, which replaces at most an empty
 * folder and never follows a link — and changes owners only in a staging folder of its own (0700,
 * which no other account can enter), before the name appears in the part's, through lchown (no
 * link followed). A crash mid-move is finished by the next start (`MOVING_MARK`).
 *
 * The journal and its key move together, so the part could rewrite the root era and recompute
 * every HMAC: the manager's record of the move carries the moved journal's anchor (its record
 * count, the last record's HMAC, the sha256 of its bytes; audit/journalAnchor.ts), taken while
 * only root could write it, which `cloison audit verify --anchor` checks the part's journal against.
 *
 * The manager's own files stay: the cages' homes and records, the key marks' secret, its journal;
 * the lock's failure count becomes the manager's (it counts the checks: pamCheckExecutor.ts), in
 * its own folder, so the wait a guesser earned survives the switch.
 */
import { chmodSync, closeSync, constants, fchmodSync, fstatSync, fsyncSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { requireBinary } from '../system/binaries';
import { ANCHOR_FIELDS, journalAnchorOf, type JournalAnchor } from '../audit/journalAnchor';
import { MANAGER_JOURNAL_FILE, MANAGER_UNLOCK_FAILURES_FILE } from './managerExecutors';

/** The journal and everything the part reads in its state folder (supervisor.ts, journalWiring.ts, lockWiring.ts, trainingWiring.ts). */
export const PART_STATE_FILES = ['journal.key', 'audit.jsonl.head', 'audit.jsonl', 'trust-phrase.json', 'shell-resume.json', 'screens.json', 'session.locked'] as const;
/** The part's folders: the diode's keys (gpg's home, the public keys), the training reports. */
export const PART_STATE_FOLDERS = ['diode', 'training-reports'] as const;
/** The root supervisor's journal, anchored in the manager's record of the move. */
const JOURNAL = 'audit.jsonl';
/** A torn journal tail set aside (auditJournal.ts): the journal's story, moved with it. */
const TORN_PREFIX = 'audit.jsonl.torn-';
/** The root supervisor's lock count (lockWiring.ts). */
const ROOT_UNLOCK_FAILURES = 'unlock-failures.json';
/** Root's staging folder in the manager's folder while a move is under way (0700): the next start finishes it. */
export const MOVING_MARK = 'state-moving-to-part';

export interface StateMoveOptions {
  /** The manager's folder: where the root supervisor kept its state (root's). */
  stateDir: string;
  /** The part's folder (its account's, made by managerMain.ts's partFolder). */
  partStateDir: string;
  owner: { uid: number; gid: number };
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface StateMoveOutcome {
  to: string;
  moved: string[];
  /** Left in the manager's folder, with the reason (a name the part's folder already had, an error). */
  left: { name: string; reason: string }[];
  /** The lock's failure count taken over by the manager. */
  failureCount: boolean;
  /** The root supervisor's journal as it was moved (null: none moved, or none whole to anchor). */
  journalAnchor?: JournalAnchor | null;
}

const lstatOrNull = (path: string): Stats | null => {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

/** The part's names the root supervisor left in `dir`: the fixed ones and the torn journal tails. */
export function partNamesIn(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const fixed: string[] = [...PART_STATE_FILES, ...PART_STATE_FOLDERS];
  return [...fixed.filter((n) => entries.includes(n)), ...entries.filter((n) => n.startsWith(TORN_PREFIX)).sort()];
}

/**
 * Moves the root supervisor's part state into the part's folder when it has none of it (or a
 * move was under way); returns null when there was nothing to do.
 */
export function moveRootStateToPart(options: StateMoveOptions): StateMoveOutcome | null {
  const { stateDir, partStateDir, owner } = options;
  const failureCount = takeFailureCount(stateDir);
  const staging = join(stateDir, MOVING_MARK);
  const marked = lstatOrNull(staging) !== null;
  // A move cut short: what is still in root's folder, and what it had set aside.
  const theirs = [...new Set([...partNamesIn(stateDir), ...(marked ? partNamesIn(staging) : [])])];
  const partHas = partNamesIn(partStateDir);
  const nothing = failureCount ? { to: partStateDir, moved: [], left: [], failureCount } : null;
  if (theirs.length === 0) {
    if (marked) emptiedAway(staging, options.log);
    return nothing;
  }
  if (partHas.length > 0 && !marked) {
    options.log?.('the root supervisor\'s state left where it is: the cloison part already has its own', { left: theirs, partHas });
    return nothing;
  }
  // The manager's journal is keyed by the journal.key beside it: one that already ran here keeps its key (and the state stays).
  if (!marked && lstatOrNull(join(stateDir, MANAGER_JOURNAL_FILE))) {
    options.log?.('the root supervisor\'s state left where it is: the cage manager\'s journal already uses its key', { left: theirs });
    return nothing;
  }
  privateFolder(staging);
  // Read while only root can write it: in root's folder, or set aside in root's staging by a cut move.
  const anchor = journalAnchorOf(lstatOrNull(join(staging, JOURNAL)) ? join(staging, JOURNAL) : join(stateDir, JOURNAL));
  const moved: string[] = [];
  const left: { name: string; reason: string }[] = [];
  for (const name of theirs) {
    try {
      const done = moveOne(name, { stateDir, staging, partStateDir }, owner);
      if (done === true) moved.push(name);
      else left.push({ name, reason: done });
    } catch (err) {
      left.push({ name, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
  }
  emptiedAway(staging, options.log);
  options.log?.('the root supervisor\'s state moved to the cloison part', { moved, left });
  return { to: partStateDir, moved, left, failureCount, journalAnchor: moved.includes(JOURNAL) ? anchor : null };
}

/**
 * The move in the manager's journal (opened after it: its key is the one that moved): the names,
 * never the contents, and the moved journal's anchor.
 */
export function journalStateMove(journal: { append(kind: string, actor: string, fields: Record<string, string | number | boolean | null>): unknown }, outcome: StateMoveOutcome | null): void {
  if (!outcome) return;
  if (outcome.moved.length === 0 && outcome.left.length === 0) {
    journal.append('state.failureCountKept', 'supervisor', { from: ROOT_UNLOCK_FAILURES, to: MANAGER_UNLOCK_FAILURES_FILE });
    return;
  }
  journal.append('state.movedToPart', 'supervisor', {
    to: outcome.to,
    moved: outcome.moved.join(','),
    left: outcome.left.map((l) => `${l.name}: ${l.reason}`).join('; ') || null,
    failureCountKept: outcome.failureCount,
    ...(outcome.journalAnchor
      ? { [ANCHOR_FIELDS.records]: outcome.journalAnchor.records, [ANCHOR_FIELDS.last]: outcome.journalAnchor.last, [ANCHOR_FIELDS.sha256]: outcome.journalAnchor.sha256 }
      : {}),
  });
}

/**
 * true, or why it stayed (then back at its name in root's folder, root's). It is set aside first
 * in root's own staging folder (0700), where no other account reaches it, and given to the part's
 * account there: given away while root's 0711 folder still named it, the part's account could
 * have opened it (a descriptor kept past any undoing) or put files of its own in the diode's home.
 */
function moveOne(name: string, dirs: { stateDir: string; staging: string; partStateDir: string }, owner: { uid: number; gid: number }): true | string {
  const from = join(dirs.stateDir, name);
  const aside = join(dirs.staging, name);
  const to = join(dirs.partStateDir, name);
  if (lstatOrNull(from)) {
    if (lstatOrNull(aside)) return `set aside in ${MOVING_MARK} by a move cut short and made again since: both kept`;
    renameSync(from, aside);
  }
  const source = lstatSync(aside);
  const there = lstatOrNull(to);
  // Only root's staging folder names it from here on; the part's folder gets a name that did not exist.
  const back = (reason: string): string => {
    if (source.isDirectory()) giveTree(aside, { uid: 0, gid: 0 });
    else lchownSync(aside, 0, 0);
    // A supervisor that ran since a cut move made its own: neither replaced; this one stays aside.
    if (lstatOrNull(from)) return `${reason}; kept aside in ${MOVING_MARK}`;
    renameSync(aside, from);
    return reason;
  };
  if (source.isFile()) {
    // A crash after the link: the same file at both names, finished here.
    if (there && there.ino === source.ino && there.dev === source.dev) {
      unlinkSync(aside);
      return true;
    }
    if (there) return back('the part already has one');
    lchownSync(aside, owner.uid, owner.gid);
    chmodSync(aside, 0o600);
    try {
      // Never over a name the part's account made: link(2) neither follows nor replaces it.
      linkSync(aside, to);
    } catch (err) {
      return back((err as NodeJS.ErrnoException).code ?? 'not linked');
    }
    unlinkSync(aside);
    return true;
  }
  if (source.isDirectory()) {
    if (there && !there.isDirectory()) return back('the part already has one');
    if (name === 'diode') quietGpgHome(join(aside, 'gnupg'));
    giveTree(aside, owner);
    try {
      // Replaces at most an empty folder the part made; a link or a folder with anything in it stays.
      renameSync(aside, to);
    } catch (err) {
      return back((err as NodeJS.ErrnoException).code ?? 'not moved');
    }
    return true;
  }
  return back('not a file nor a folder');
}

/** Everything under `dir` (root's folder: nobody else names anything in it) given to `owner`, links not followed, setuid/setgid bits dropped. */
function giveTree(dir: string, owner: { uid: number; gid: number }): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) giveTree(path, owner);
    lchownSync(path, owner.uid, owner.gid);
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) chmodSync(path, st.mode & 0o1777);
  }
  lchownSync(dir, owner.uid, owner.gid);
}

/**
 * The root supervisor's gpg-agent on the diode's home stopped, its sockets removed, before the home
 * is the part's: an agent left by a supervisor that died (its unit's KillMode=process) runs as root
 * and would answer the part's gpg on the moved socket.
 */
function quietGpgHome(home: string): void {
  if (!lstatOrNull(home)?.isDirectory()) return;
  try {
    execFileSync(requireBinary('gpgconf'), ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* none running, or gone: the sockets go all the same */
  }
  for (const name of readdirSync(home)) if (name.startsWith('S.') && lstatSync(join(home, name)).isSocket()) unlinkSync(join(home, name));
}

/** The root supervisor's lock count renamed to the manager's in root's folder, where the manager has none. */
function takeFailureCount(stateDir: string): boolean {
  const from = join(stateDir, ROOT_UNLOCK_FAILURES);
  const source = lstatOrNull(from);
  if (!source?.isFile() || lstatOrNull(join(stateDir, MANAGER_UNLOCK_FAILURES_FILE))) return false;
  linkSync(from, join(stateDir, MANAGER_UNLOCK_FAILURES_FILE));
  unlinkSync(from);
  return true;
}

/** The staging folder removed once empty; anything still in it stays (never deleted here) and is said. */
function emptiedAway(staging: string, log: StateMoveOptions['log']): void {
  try {
    rmdirSync(staging);
  } catch (err) {
    log?.('the root supervisor\'s state left set aside', { folder: staging, reason: (err as NodeJS.ErrnoException).code });
  }
}

/** Root's staging folder in its own state folder: made 0700, or one a cut move left, checked to be a folder of root's. */
function privateFolder(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    if (fstatSync(fd).uid !== 0) throw new Error(`${path} is not root's`);
    fchmodSync(fd, 0o700);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
