/**
 * Test tool: the `cloison` part's restriction (cloisonPartRestriction.ts) with the filter that lets
 * its bwrap build the file sandboxes (cloisonPartSeccompProgram), or as it is (`filter: 'part'`).
 * Until cloisonPartRestriction.ts takes that filter, the part tools that convert or scan call this.
 */
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { restrictUnprivilegedPart } from '../sandbox/partSelfRestriction';
import { cloisonPartSeccompProgram } from '../sandbox/processSyscallFilters';

export function restrictCloisonPartForSandboxes<Start>(): Start {
  const raw = JSON.parse(process.env.CLOISON_PART_START ?? 'null') as ({ filter?: 'part' | 'sandboxing'; account: { uid: number; gid: number } | null } & Start) | null;
  if (!raw) throw new Error('started without CLOISON_PART_START: the cage manager starts this');
  if (raw.filter === 'part') return restrictCloisonPart() as Start;
  delete process.env.CLOISON_PART_START;
  restrictUnprivilegedPart('the cloison part', raw.account, cloisonPartSeccompProgram());
  return raw;
}
