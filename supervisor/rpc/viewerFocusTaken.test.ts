/**
 * The shell found a level's viewer frame holding the keyboard focus (frameFocusGuard.ts), took it
 * back and unloaded the frame: the supervisor journals it, for a level of the policy only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';

describe('a viewer frame took the keyboard focus', () => {
  let t: TestSupervisor;
  beforeAll(async () => {
    t = await startTestSupervisor(twoLevelPolicy({ low: vncCage('/nonexistent/low.sock'), high: vncCage('/nonexistent/high.sock') }));
  });
  afterAll(async () => t?.stop());

  it('is journaled with its level and how many times; an unknown level or a bad count is refused', async () => {
    expect(await t.rpc.call('viewer.focusTaken', { level: 'low', grabs: 2 })).toMatchObject({ ok: true });
    expect(t.records().at(-1)).toMatchObject({ kind: 'viewer.focusTaken', actor: 'shell', level: 'low', grabs: 2 });
    expect(await t.rpc.call('viewer.focusTaken', { level: 'nowhere', grabs: 1 })).toMatchObject({ ok: false });
    expect(await t.rpc.call('viewer.focusTaken', { level: 'low', grabs: 0 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});
