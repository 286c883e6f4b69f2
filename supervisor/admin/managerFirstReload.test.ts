/**
 * The administrator's reload when the cage manager cannot take the policy: the part's own reload
 * is not run (its policy would differ from the one the manager authorizes against) and the
 * administrator reads why. The real manager's answers: cageManager/policyReloadThroughManager.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CloisonError } from '../../shared/errors';
import type { ManagerRequester } from '../cageManager/managerLink';
import type { ReloadOutcome } from '../policy/policyReloader';
import { managerFirstReload } from './managerFirstReload';

const journaled: Array<Record<string, unknown>> = [];
const journal = { append: (kind: string, actor: string, fields: Record<string, unknown>) => journaled.push({ kind, actor, ...fields }) };

describe('managerFirstReload', () => {
  it('a manager that does not answer: refused, the part keeps its policy', async () => {
    let partReloads = 0;
    const manager: ManagerRequester = { closed: true, request: () => Promise.reject(new CloisonError('CONNECTION_LOST', 'the cage manager closed the connection')) };
    const reload = managerFirstReload({ manager, journal, reload: () => Promise.resolve({ decision: 'applied', changes: [], restarted: [] } satisfies ReloadOutcome).finally(() => partReloads++) });
    const outcome = await reload();
    expect(outcome).toMatchObject({ decision: 'refused', reason: expect.stringMatching(/did not read the policy again: the cage manager closed the connection/) });
    expect(partReloads).toBe(0);
    expect(journaled.at(-1)).toMatchObject({ kind: 'policy.reload', actor: 'admin', decision: 'refused' });
  });

  it('a file being written: refused with retry, the part keeps its policy', async () => {
    let partReloads = 0;
    const manager: ManagerRequester = { closed: false, request: async () => ({ accepted: false, reason: 'p.yaml is being written (it was written 20 ms ago): the running policy stays; retry in a moment', beingWritten: true }) };
    const outcome = await managerFirstReload({ manager, journal, reload: async () => (partReloads++, { decision: 'applied', changes: [], restarted: [] }) })();
    expect(outcome).toMatchObject({ decision: 'refused', retry: true, reason: expect.stringMatching(/being written/) });
    expect(partReloads).toBe(0);
  });

  it('the manager took it, the part refused its text (a recipient key it cannot open): the answer says the reload is not whole', async () => {
    const manager: ManagerRequester = { closed: false, request: async () => ({ accepted: true, sha256: 'a'.repeat(64) }) };
    const outcome = await managerFirstReload({ manager, journal, reload: async () => ({ decision: 'refused', reason: 'p.yaml:12:5: files.down.recipients[0]: EACCES', changes: [], restarted: [] }) })();
    expect(outcome).toMatchObject({ decision: 'refused', reason: expect.stringMatching(/not whole: the cage manager runs the new policy, the cloison part refused it .*EACCES/) });
  });
});
