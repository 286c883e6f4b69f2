/**
 * Uids of their own for the supervisor's disposable sandboxes (the document converter's and OCR's,
 * the X helper's, the file scanner's): each run becomes a uid no account, group, cage or other process uses, so no
 * process outside the run shares its uid — none can signal it, ptrace it, or open its
 * /proc/<pid>/root (where the sandbox's binds are, a cage's X socket among them). The ranges lie
 * above 3 900 000 000: the policy's cage uids stop at 65533, useradd's at 60000 by default.
 *
 * Each kind has its range (tests and tools tell a converter from an X helper by its uid); a run
 * takes the next uid of its range from a random start, so a uid comes back only after a million
 * runs of that kind. Nothing to free: a uid is a number, owned by no file the run leaves behind.
 *
 * A uid (or gid: the run is both) that /etc/subuid or /etc/subgid grants is skipped: its holder
 * can become it in a user namespace of its own and signal the run (ownUidsSubuid.attack.test.ts).
 * A range all granted refuses its runs, naming the grant; the start says where a grant overlaps.
 */
import { subordinateGrants, type SubordinateGrant } from './subordinateIds';

export interface OwnUidRange {
  readonly base: number;
  readonly size: number;
  /** Whose uids, for a refusal or a start's log line. */
  readonly what: string;
}

/** The document converter's and the OCR's sandboxes (files/convert/). */
export const CONVERTER_UIDS: OwnUidRange = { base: 3_900_000_000, size: 1_000_000, what: "the document converter's" };
/** The X helper sandbox (clipboard/xSelection.ts): xclip, the resize script, xsetroot, setxkbmap. */
export const X_HELPER_UIDS: OwnUidRange = { base: 3_901_000_000, size: 1_000_000, what: "the X helper's" };
/** The policy's file scanner (files/scannerSandbox.ts), run as root's child with the supervisor in one piece. */
export const SCANNER_UIDS: OwnUidRange = { base: 3_902_000_000, size: 1_000_000, what: "the file scanner's" };

export const OWN_UID_RANGES: readonly OwnUidRange[] = [CONVERTER_UIDS, X_HELPER_UIDS, SCANNER_UIDS];

const lastOf = (range: OwnUidRange) => range.base + range.size - 1;

/** The grants overlapping `range`, and how many of its uids they hold together. */
export function grantsOver(range: OwnUidRange, grants: readonly SubordinateGrant[] = subordinateGrants()): { grants: SubordinateGrant[]; held: number } {
  const over = grants.filter((g) => g.start <= lastOf(range) && g.end > range.base).sort((a, b) => a.start - b.start);
  let held = 0;
  let from = range.base;
  for (const g of over) {
    const start = Math.max(g.start, from);
    const end = Math.min(g.end, range.base + range.size);
    if (end > start) held += end - start;
    from = Math.max(from, end);
  }
  return { grants: over, held };
}

/** A run refused: subordinate grants hold its whole range (the message names them). */
export class NoOwnUidLeft extends Error {}

/** Why `range` has no uid left to give, naming the grants. */
function allHeld(range: OwnUidRange, grants: readonly SubordinateGrant[]): string {
  const named = grants.map((g) => `${g.file}: ${g.line}`).join('; ');
  return `no uid of its own is left for ${range.what} sandbox: ${range.base}-${lastOf(range)} is all granted as subordinate ids (${named}); its holder could signal the sandbox, narrow the grant to run it`;
}

/** One line for each own range a grant overlaps (the start logs them), none when all are clear. */
export function ownUidOverlaps(): string[] {
  return OWN_UID_RANGES.flatMap((range) => {
    const { grants, held } = grantsOver(range);
    if (grants.length === 0) return [];
    const share = held === range.size ? 'all of them: its runs are refused' : `${held} of ${range.size}, skipped`;
    return [`subordinate ids granted over ${range.what} own uids ${range.base}-${lastOf(range)} (${share}): ${grants.map((g) => `${g.file}: ${g.line}`).join('; ')}`];
  });
}

/**
 * A source of uids of `range`, each call the next one no subordinate grant holds; a call throws
 * when the grants hold the whole range.
 */
export function ownUids(range: OwnUidRange): () => number {
  let next = Math.floor(Math.random() * range.size);
  return () => {
    const { grants, held } = grantsOver(range);
    if (held >= range.size) throw new NoOwnUidLeft(allHeld(range, grants));
    next = (next + 1) % range.size;
    // Past each grant holding the candidate; a free uid exists, so this ends within a lap.
    const holding = () => grants.find((g) => g.start <= range.base + next && range.base + next < g.end);
    for (let g = holding(); g; g = holding()) next = g.end >= range.base + range.size ? 0 : g.end - range.base;
    return range.base + next;
  };
}

export const isInRange = (uid: number, range: OwnUidRange): boolean => uid >= range.base && uid < range.base + range.size;
