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
 */

export interface OwnUidRange {
  readonly base: number;
  readonly size: number;
}

/** The document converter's and the OCR's sandboxes (files/convert/). */
export const CONVERTER_UIDS: OwnUidRange = { base: 3_900_000_000, size: 1_000_000 };
/** The X helper sandbox (clipboard/xSelection.ts): xclip, the resize script, xsetroot, setxkbmap. */
export const X_HELPER_UIDS: OwnUidRange = { base: 3_901_000_000, size: 1_000_000 };
/** The policy's file scanner (files/scannerSandbox.ts), run as root's child with the supervisor in one piece. */
export const SCANNER_UIDS: OwnUidRange = { base: 3_902_000_000, size: 1_000_000 };

/** A source of uids of `range`, each call the next one. */
export function ownUids(range: OwnUidRange): () => number {
  let next = Math.floor(Math.random() * range.size);
  return () => {
    next = (next + 1) % range.size;
    return range.base + next;
  };
}

export const isInRange = (uid: number, range: OwnUidRange): boolean => uid >= range.base && uid < range.base + range.size;
