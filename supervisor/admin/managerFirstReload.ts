/**
 * An administrator's `policy.reload` on the `cloison` part's admin socket, split (#29): the manager
 * authorizes every root request against its own policy, so it reads its file again first
 * (`policy.reload`, cageManager/managerPolicyReload.ts), and the part reads its copy only once the
 * manager has taken it. Otherwise the part would run the new policy while the manager kept the
 * old one: what the new one takes away still granted to a compromised part, what it gives refused.
 * A policy the manager refuses (or a manager that does not answer) is answered `refused` with the
 * manager's file:line reason, journaled here as the part's own refusal is, and neither changes.
 */
import type { AuditFields } from '../audit/auditJournal';
import type { ManagerRequester } from '../cageManager/managerLink';
import type { ManagerReloadAnswer } from '../cageManager/managerPolicyReload';
import type { ReloadOutcome } from '../policy/policyReloader';

export interface ManagerFirstReloadDeps {
  manager: ManagerRequester;
  journal: { append(kind: string, actor: string, fields: AuditFields): unknown };
  /** The part's own reload (policyReloader.ts): its journal record, its cages restarted. */
  reload: () => Promise<ReloadOutcome>;
}

export function managerFirstReload(deps: ManagerFirstReloadDeps): () => Promise<ReloadOutcome> {
  return async () => {
    let reason: string;
    try {
      const answer = (await deps.manager.request({ op: 'policy.reload' })) as ManagerReloadAnswer;
      if (answer.accepted) return await deps.reload();
      reason = `the cage manager refused the policy: ${answer.reason}`;
    } catch (err) {
      reason = `the cage manager did not read the policy again: ${(err as Error).message}`;
    }
    reason = reason.slice(0, 2000);
    deps.journal.append('policy.reload', 'admin', { decision: 'refused', reason: reason.slice(0, 500) });
    return { decision: 'refused', reason, changes: [], restarted: [] };
  };
}
