/**
 * Back from the split to the root supervisor alone (`--single`, the single unit): the part's state
 * is NOT taken back, and the start says so. Everything in the part's folder was written by the
 * `cloison` account — by a compromised part, possibly: its gpg home (the diode's keys) may hold a
 * gpg.conf or gpg-agent.conf naming the programs gpg starts (agent-program, pinentry-program), so
 * root's gpg there would run what the part chose; its journal's key is its own, so that journal proves
 * nothing to root. Root keeps only what it wrote: the user sets the trust phrase again, and the
 * split's journal stays where it is, verifiable (`cloison audit verify`). Names only, no content.
 */
import { basename, dirname, join } from 'node:path';
import { partNamesIn } from './rootStateToPart';

/** The part's folder beside a state folder, as the cage manager names it by default. */
export const partStateDirBeside = (stateDir: string) => join(dirname(stateDir), `${basename(stateDir)}-broker`);

/** What the single supervisor's start says when the split's state is beside it and it has none of its own; null otherwise. */
export function splitStateLeftBehind(stateDir: string, partStateDir = partStateDirBeside(stateDir)): string | null {
  const theirs = partNamesIn(partStateDir);
  if (theirs.length === 0 || partNamesIn(stateDir).some((n) => n === 'audit.jsonl' || n === 'trust-phrase.json')) return null;
  return (
    `the split's state in ${partStateDir} (${theirs.join(', ')}) is not taken back: the cloison account wrote it, and root does not ` +
    `run on what it wrote (its gpg home may name the programs gpg starts). This supervisor starts a journal of its own in ${stateDir} and ` +
    `asks for the trust phrase again; the split's journal stays there (cloison audit verify --key ${join(partStateDir, 'journal.key')} ${join(partStateDir, 'audit.jsonl')}).`
  );
}
