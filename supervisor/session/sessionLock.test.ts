/**
 * The lock's own rules, on a clock the test drives: it locks after the idle time and not before,
 * input moves the deadline, a wrong password costs a growing wait and is journaled without the
 * text typed, too many failures are marked, the user's delay stays within the policy and lasts
 * until the next lock, and a lock survives a supervisor restart, its failures and wait too; a PAM
 * error is a failure; only the workstation user's shell may try.
 */
import { readFileSync, rmSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sessionPolicySchema, type SessionPolicy } from '../../shared/policy';
import { failureDelayMs, SessionLock, type SessionLockOptions } from './sessionLock';

const PASSWORD = 'correct horse';
/** alice's own shell, on the Unix socket. */
const SHELL = { transport: 'unix' as const, peerUid: 1000 };

function setup(policy: Partial<SessionPolicy> = {}, markerDir = testRoot('cloison-lock-'), overrides: Partial<SessionLockOptions> = {}) {
  const records: Array<{ kind: string; actor: string; fields: Record<string, unknown> }> = [];
  const options: SessionLockOptions = {
    policy: { current: () => ({ session: sessionPolicySchema.parse({ lockAfterSeconds: 60, userMayExtendUpTo: 600, maxFailures: 3, ...policy }) }) },
    record: (kind, actor, fields) => records.push({ kind, actor, fields }),
    checkPassword: async (_user, password) => password === PASSWORD,
    user: { name: 'alice', uid: 1000, gid: 1000, source: 'shell-user' },
    markerFile: join(markerDir, 'session.locked'),
    failuresFile: join(markerDir, 'unlock-failures.json'),
    ...overrides,
  };
  return { lock: new SessionLock(options), records, options, markerDir };
}

describe('session lock', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('locks after the idle time, and input moves the deadline', () => {
    const { lock, records } = setup();
    vi.advanceTimersByTime(59_000);
    lock.activity();
    vi.advanceTimersByTime(59_000);
    expect(lock.locked).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(lock.locked).toBe(true);
    expect(records.at(-1)).toMatchObject({ kind: 'session.lock', fields: { cause: 'idle' } });
    lock.activity(); // input while locked unlocks nothing
    expect(lock.locked).toBe(true);
  });

  it('a wrong password is journaled with the count and never the text, and the wait grows', async () => {
    const { lock, records } = setup();
    lock.lock('user');
    const first = await lock.unlock('guess-one', SHELL);
    expect(first).toMatchObject({ locked: true, failures: 1, retryInMs: 3000 });
    await expect(lock.unlock(PASSWORD, SHELL)).rejects.toThrow(/wait 3 s/);
    await expect(lock.unlock(PASSWORD, SHELL)).rejects.toMatchObject({ text: { fr: 'attendez 3 s avant le prochain essai', en: 'wait 3 s before the next attempt' } });
    vi.advanceTimersByTime(3000);
    expect((await lock.unlock('guess-two', SHELL)).retryInMs).toBe(6000);
    expect(JSON.stringify(records)).not.toMatch(/guess|correct horse/);
    expect(records.filter((r) => r.kind === 'session.unlock-failed').map((r) => r.fields)).toEqual([
      { user: 'alice', failures: 1, delayMs: 3000 },
      { user: 'alice', failures: 2, delayMs: 6000 },
    ]);
    expect([1, 2, 3, 4, 5, 6, 9].map(failureDelayMs)).toEqual([3000, 6000, 12000, 24000, 48000, 60000, 60000]);
  });

  it('marks the failure that reaches maxFailures, then unlocks with the right password', async () => {
    const { lock, records } = setup();
    lock.lock('admin');
    for (let i = 0; i < 3; i++) {
      await lock.unlock(`wrong-${i}`, SHELL);
      vi.advanceTimersByTime(failureDelayMs(i + 1));
    }
    expect(lock.view().tooManyFailures).toBe(true);
    expect(records.filter((r) => r.kind === 'session.unlock-failed').at(-1)!.fields).toMatchObject({ failures: 3, alert: true });
    const unlocked = await lock.unlock(PASSWORD, SHELL);
    expect(unlocked).toMatchObject({ locked: false, failures: 0, tooManyFailures: false });
    expect(records.at(-1)).toMatchObject({ kind: 'session.unlock', actor: 'user', fields: { user: 'alice', failuresBefore: 3 } });
  });

  it('the user chooses a delay within the policy, for this session only: the next lock forgets it', async () => {
    const { lock } = setup();
    expect(() => lock.chooseDelay(601)).toThrow(/at most 600 s/);
    expect(() => lock.chooseDelay(601)).toThrow(expect.objectContaining({ text: { fr: 'la politique permet au plus 600 s avant le verrouillage', en: 'the policy allows at most 600 s before locking' } }));
    lock.chooseDelay(300);
    vi.advanceTimersByTime(299_000);
    expect(lock.locked).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(lock.locked).toBe(true);
    await lock.unlock(PASSWORD, SHELL);
    expect(lock.lockAfterSeconds).toBe(60);
  });

  it('a lock outlives a restart; an unlock removes the mark', async () => {
    const first = setup();
    first.lock.lock('user');
    expect(readFileSync(first.options.markerFile, 'utf8')).toMatch(/user/);
    first.lock.dispose();
    const restarted = setup({}, first.markerDir);
    expect(restarted.lock.locked).toBe(true);
    expect(restarted.records[0]).toMatchObject({ kind: 'session.lock', fields: { cause: 'restart' } });
    await restarted.lock.unlock(PASSWORD, SHELL);
    expect(setup({}, first.markerDir).lock.locked).toBe(false);
    rmSync(first.markerDir, { recursive: true, force: true });
  });

  it('refuses to unlock when no user is known, and says why', async () => {
    const { lock } = setup({}, undefined, { user: null, noUserReason: 'no workstation user is known: start the supervisor with --shell-user NAME' });
    lock.lock('user');
    await expect(lock.unlock(PASSWORD, { transport: 'websocket' })).rejects.toThrow(/--shell-user/);
    expect(lock.locked).toBe(true);
  });

  it('the failure count and the next allowed attempt survive a restart', async () => {
    const first = setup();
    first.lock.lock('user');
    await first.lock.unlock('guess-one', SHELL);
    vi.advanceTimersByTime(3000);
    await first.lock.unlock('guess-two', SHELL);
    first.lock.dispose();
    const restarted = setup({}, first.markerDir);
    expect(restarted.lock.view()).toMatchObject({ locked: true, failures: 2, retryInMs: 6000 });
    await expect(restarted.lock.unlock(PASSWORD, SHELL)).rejects.toThrow(/wait 6 s/);
    vi.advanceTimersByTime(6000);
    expect(await restarted.lock.unlock(PASSWORD, SHELL)).toMatchObject({ locked: false, failures: 0 });
    expect(setup({}, first.markerDir).lock.view()).toMatchObject({ failures: 0, retryInMs: 0 });
    rmSync(first.markerDir, { recursive: true, force: true });
  });

  it('a PAM check that errs or times out counts as a failure, journaled with its error', async () => {
    const { lock, records } = setup({}, undefined, { checkPassword: async () => Promise.reject(new Error('the PAM check did not finish (SIGKILL)')) });
    lock.lock('user');
    expect(await lock.unlock(PASSWORD, SHELL)).toMatchObject({ locked: true, failures: 1, retryInMs: 3000 });
    expect(records.at(-1)).toMatchObject({ kind: 'session.unlock-failed', fields: { failures: 1, error: expect.stringMatching(/SIGKILL/) } });
  });

  it("refuses, unchecked and journaled, an attempt from any connection but the workstation user's shell", async () => {
    let checked = 0;
    const { lock, records } = setup({}, undefined, { checkPassword: async () => (checked++, true) });
    lock.lock('user');
    for (const caller of [{ transport: 'unix' as const, peerUid: 1001 }, { transport: 'unix' as const, peerUid: 0 }, { transport: 'unix' as const }]) {
      await expect(lock.unlock(PASSWORD, caller)).rejects.toMatchObject({ message: expect.stringMatching(/only .*shell may unlock/), text: { fr: expect.stringMatching(/seul .*shell .*peut déverrouiller/) } });
    }
    expect(checked).toBe(0);
    expect(lock.view()).toMatchObject({ locked: true, failures: 0 });
    expect(records.filter((r) => r.kind === 'session.unlock-refused').map((r) => r.fields.peerUid)).toEqual([1001, 0, undefined]);
    expect(await lock.unlock(PASSWORD, { transport: 'websocket' })).toMatchObject({ locked: false });
  });
});
