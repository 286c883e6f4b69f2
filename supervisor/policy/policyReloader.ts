/**
 * A policy reload (SIGHUP, the admin socket), one at a time: the source is read again through the
 * loader; an invalid policy is refused and the running one stays; a valid one replaces it whole
 * (every broker reads it at once) and `apply` restarts only the cages whose own definition
 * changed. Adding, removing or reordering levels waits for the next start. Each outcome is journaled.
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../../shared/policy';
import type { FileAuditJournal } from '../audit/auditJournal';
import { describeChanges, hasChanges, policyChanges, type PolicyChanges } from './policyChanges';
import type { RunningPolicy } from './runningPolicy';

export interface ReloadOutcome {
  decision: 'applied' | 'unchanged' | 'pending-restart' | 'refused';
  reason?: string;
  changes: string[];
  restarted: string[];
  /** Refused only because the file was being written (split: the manager's answer): the administrator's CLI asks again. */
  retry?: true;
}

export interface PolicyReloaderOptions {
  store: RunningPolicy;
  journal: Pick<FileAuditJournal, 'append'>;
  /** After the store holds the new policy: what must act on the change beyond reading it (restarting cages). */
  apply: (next: Policy, changes: PolicyChanges) => Promise<void>;
}

export class PolicyReloader {
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PolicyReloaderOptions) {}

  reload(): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const { store, journal } = this.options;
    let text: string;
    let next: Policy;
    try {
      ({ policy: next, text } = await store.readSource());
    } catch (err) {
      const reason = (err as Error).message.slice(0, 2000);
      journal.append('policy.reload', 'admin', { decision: 'refused', reason: reason.slice(0, 500) });
      return { decision: 'refused', reason, changes: [], restarted: [] };
    }
    const sha256 = createHash('sha256').update(text).digest('hex');
    const changes = policyChanges(store.current(), next);
    const described = describeChanges(changes);
    if (!hasChanges(changes)) {
      journal.append('policy.reload', 'admin', { decision: 'unchanged', sha256 });
      return { decision: 'unchanged', changes: described, restarted: [] };
    }
    if (changes.levelSetChanged) {
      journal.append('policy.reload', 'admin', { decision: 'pending-restart', sha256, changes: described.join('; ') });
      return { decision: 'pending-restart', changes: described, restarted: [] };
    }
    store.replace(next, text);
    await this.options.apply(next, changes);
    journal.append('policy.reload', 'admin', { decision: 'applied', sha256, changes: described.join('; '), restarted: changes.cages.join(',') });
    return { decision: 'applied', changes: described, restarted: changes.cages };
  }
}
