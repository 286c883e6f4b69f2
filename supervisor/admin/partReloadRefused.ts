/**
 * An administrator's `policy.reload` on the `cloison` part's admin socket, split (#29 review): refused.
 * The cage manager reads its policy again only at its SIGHUP (cageManager/managerPolicyReload.ts),
 * since the moment of a reload must be the administrator's and never a part's that can watch the
 * file being saved; the part then runs what the manager took (the manager passes SIGHUP on, and
 * the part asks for its text). `cloison policy reload` run as root signals the manager itself
 * (cli/managerReload.ts); this answer names that, for an older command or another client.
 */
import type { AuditFields } from '../audit/auditJournal';
import { PART_MAY_NOT_RELOAD } from '../cageManager/managerPolicyReload';
import type { ReloadOutcome } from '../policy/policyReloader';

export function partReloadRefused(journal: { append(kind: string, actor: string, fields: AuditFields): unknown }): () => Promise<ReloadOutcome> {
  return () => {
    journal.append('policy.reload', 'admin', { decision: 'refused', reason: 'asked of the cloison part: only the cage manager\'s SIGHUP reloads' });
    return Promise.resolve({ decision: 'refused', reason: PART_MAY_NOT_RELOAD, changes: [], restarted: [] });
  };
}
