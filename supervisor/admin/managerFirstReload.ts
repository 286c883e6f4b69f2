/**
 * An administrator's `policy.reload` on the `cloison` part's admin socket, split (#29): the manager
 * authorizes every root request against its own policy, so it reads its file again first
 * (`policy.reload`, cageManager/managerPolicyReload.ts), and the part takes the manager's text only
 * once the manager has taken the file. Otherwise the part would run the new policy while the manager kept the
 * old one: what the new one takes away still granted to a compromised part, what it gives refused.
 * A policy the manager refuses (or a manager that does not answer) is answered `refused` with the
 * manager's file:line reason, journaled here as the part's own refusal is, and neither changes.
 * A file being written is answered `refused` with `retry` (the CLI asks again in a moment).
 *
 * The part's reload then takes the manager's text (policy.current), not the file (#29, one reading).
 * What the part checks for itself (a recipient key it must open) can still refuse that text: the
 * manager then runs the new policy and the part the old, and the answer says the reload is not whole.
 * This path goes through the part, which a compromised part can swallow: `systemctl reload
 * cloison-cage-manager` (the manager's SIGHUP) is the administrator's authoritative reload.
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
      if (answer.accepted) return notWholeIfRefused(await deps.reload());
      if (answer.beingWritten) return { decision: 'refused', reason: `the cage manager did not read the policy: ${answer.reason}`.slice(0, 2000), changes: [], restarted: [], retry: true };
      reason = `the cage manager refused the policy: ${answer.reason}`;
    } catch (err) {
      reason = `the cage manager did not read the policy again: ${(err as Error).message}`;
    }
    reason = reason.slice(0, 2000);
    deps.journal.append('policy.reload', 'admin', { decision: 'refused', reason: reason.slice(0, 500) });
    return { decision: 'refused', reason, changes: [], restarted: [] };
  };
}

/** The part refused the text the manager took (its own check): said, since root now runs the new policy. */
function notWholeIfRefused(outcome: ReloadOutcome): ReloadOutcome {
  if (outcome.decision !== 'refused') return outcome;
  return { ...outcome, reason: `the reload is not whole: the cage manager runs the new policy, the cloison part refused it and keeps the old one: ${outcome.reason ?? ''}`.slice(0, 2000) };
}
