/**
 * An unprivileged part's definition for tests: `script` in the part's place, root within setpriv's
 * bounds unless an account is given, the cages' control groups, every message taken as it comes,
 * "ready" its readiness. Each test overrides what it watches (its events, its limits, its account).
 */
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';
import type { PartDefinition } from '../sandbox/partProcess';

export type TestPartMessage = { type: string; error?: string };

export function testPartDefinition(callerUrl: string, name: string, script: string, overrides: Partial<PartDefinition<TestPartMessage>> = {}): PartDefinition<TestPartMessage> {
  return {
    name,
    command: { callerUrl, source: '', bundle: '', script },
    startEnv: 'TEST_PART_START',
    account: () => ({ uid: 0, gid: 0 }),
    start: () => ({}),
    lang: 'C.UTF-8',
    maxMessageBytes: 1024,
    limits: { memoryBytes: 256 * 2 ** 20, tasks: 64 },
    controlGroups: { create: createCageCgroup, open: openCageCgroup },
    parse: (raw) => ({ success: true, data: raw as TestPartMessage }),
    isReady: (m) => m.type === 'ready',
    started: () => undefined,
    message: () => undefined,
    gone: () => undefined,
    restarting: () => undefined,
    ...overrides,
  };
}
