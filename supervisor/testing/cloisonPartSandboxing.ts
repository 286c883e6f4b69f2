/**
 * Test tool: the `cloison` part's restriction (cloisonPartRestriction.ts's steps: its account, no
 * capability, NoNewPrivs) with, as its syscall filter, either the one that lets its bwrap build the
 * file sandboxes (`filter: 'sandboxing'`, cloisonPartSeccompProgram) or the service's, the part's
 * filter before it (`filter: 'service'`). The part tools that convert or scan call this until
 * cloisonPartRestriction.ts installs cloisonPartSeccompProgram.
 */
import { restrictUnprivilegedPart } from '../sandbox/partSelfRestriction';
import { cloisonPartSeccompProgram, serviceSeccompProgram } from '../sandbox/processSyscallFilters';

export function restrictCloisonPartForSandboxes<Start>(): Start {
  const start = JSON.parse(process.env.CLOISON_PART_START ?? 'null') as ({ filter: 'service' | 'sandboxing'; account: { uid: number; gid: number } | null } & Start) | null;
  if (!start) throw new Error('started without CLOISON_PART_START: the cage manager starts this');
  delete process.env.CLOISON_PART_START;
  restrictUnprivilegedPart('the cloison part', start.account, start.filter === 'service' ? serviceSeccompProgram() : cloisonPartSeccompProgram());
  return start;
}
