/**
 * Split, the cloison part's admin socket refuses `policy.reload` (the manager reloads only at its
 * SIGHUP: the moment is the administrator's): the part's own reload is not run, the answer names
 * the administrator's commands, and the refusal is journaled.
 */
import { describe, expect, it } from 'vitest';
import { partReloadRefused } from './partReloadRefused';

describe('partReloadRefused', () => {
  it('refuses, naming the reloads that reach the manager, and journals it', async () => {
    const journaled: Array<Record<string, unknown>> = [];
    const outcome = await partReloadRefused({ append: (kind, actor, fields) => journaled.push({ kind, actor, ...fields }) })();
    expect(outcome).toMatchObject({ decision: 'refused', reason: expect.stringMatching(/systemctl reload cloison-cage-manager.*cloison policy reload. run as root/) });
    expect(journaled).toEqual([expect.objectContaining({ kind: 'policy.reload', actor: 'admin', decision: 'refused' })]);
  });
});
