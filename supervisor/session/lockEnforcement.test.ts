/**
 * While the workstation is locked the supervisor itself refuses everything but unlocking, driven
 * over its RPC, its admin socket and its gateway directly, with no renderer: the open viewer is
 * closed, no ticket is issued and one issued before the lock no longer opens anything, no cage is
 * in front for input, a question waiting for the user ends unanswered and nothing crosses, and
 * clipboard, files and devices are refused with the reason. The administrator can lock, never
 * unlock, on its socket or the shell's. Unlocking takes the account's real password, through the
 * machine's PAM stack, from that account's own shell.
 */
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from '../cli/adminClient';
import { runCliWithSupervisor } from '../cli/cloison';
import { readSelection, writeSelection } from '../clipboard/xSelection';
import { createPamTestUser, createTestGroup, type PamTestUser } from '../testing/pamTestUser';
import { rpcClientAs, type RpcClient } from '../testing/rpcClient';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

describe('the lock, enforced by the supervisor (real cages, real PAM)', () => {
  let account: PamTestUser;
  let t: TestSupervisor;
  let group: { gid: number; remove(): void };
  let own: RpcClient; // the workstation user's shell: the only connection that may unlock
  const x11Dir = (level: string) => (t.sup.driverOf(level) as unknown as { x11Dir: string }).x11Dir;

  beforeAll(async () => {
    account = createPamTestUser();
    const policy = twoLevelPolicy({ low: bwrapCage({ uid: 58634 }), high: bwrapCage({ uid: 58635 }) }, `session: { lockAfterSeconds: 600, pamService: ${account.service} }\n`);
    group = createTestGroup([account.user]);
    t = await startTestSupervisor(policy, { browserShell: true, shellUser: account.user, shellGroup: group.gid });
    chmodSync(t.root, 0o711);
    chmodSync(join(t.root, 'run'), 0o711);
    own = await rpcClientAs(t.sup.rpcSocketPath, account.uid, account.gid);
  });
  afterAll(async () => {
    own?.close();
    await t?.stop();
    group?.remove();
    account?.remove();
  });

  it('locked: viewers closed, no ticket, no input, no crossing; the admin locks but cannot unlock; PAM unlocks', async () => {
    const { rpc, sup } = t;
    // Before: a viewer of low is open, a spare ticket for high is held, a paste up waits for the user.
    const viewer = await t.viewer('low');
    const spare = await rpc.call('vnc.ticket', { level: 'high' });
    expect(spare.ok).toBe(true);
    const selection = await writeSelection(x11Dir('low'), 'texte du bas');
    expect((await rpc.call('clipboard.copy', { level: 'low' })).ok).toBe(true);
    selection.stop();
    const asked = rpc.next('onConfirmRequest');
    const pasting = rpc.call('clipboard.paste', { level: 'high' });
    await asked;

    // The administrator locks the workstation (`cloison lock`).
    const locked = rpc.next('onLock');
    const said: string[] = [];
    expect(await runCliWithSupervisor(['lock', '--socket', t.sup.adminSocketPath], (s) => said.push(s), (s) => said.push(s))).toBe(0);
    expect(said.join('\n')).toMatch(/locked/);
    expect(await locked).toMatchObject({ locked: true, user: account.user });

    expect((await viewer.closed).code).toBe(4003);
    expect(await pasting).toMatchObject({ ok: true, result: { outcome: 'timed-out' } });
    const inHigh = await readSelection(x11Dir('high'), 4096).catch(() => ({ kind: 'empty' as const }));
    expect(inHigh.kind === 'text' ? inHigh.bytes.toString() : '').not.toContain('texte du bas');
    await expect(t.viewerWithTicket('high', spare.result.ticket)).rejects.toThrow(/403/);
    expect(sup.focus.isInFront('low') || sup.focus.isInFront('high')).toBe(false);
    for (const [method, params] of [
      ['vnc.ticket', { level: 'low' }],
      ['focus.set', { level: 'high' }],
      ['input.suspend', { suspended: false }],
      ['clipboard.copy', { level: 'low' }],
      ['clipboard.paste', { level: 'high' }],
      ['files.list', { level: 'low', path: '' }],
      ['files.transfer', { from: 'low', to: 'high', paths: ['a'] }],
      ['devices.attach', { id: 'x', level: 'low', mode: 'read-only' }],
      ['trust.set', { phrase: 'une autre phrase !', symbol: null }],
      ['confirm.answer', { id: 'x', accept: true }],
    ] as const) {
      expect(await rpc.call(method, params), method).toMatchObject({ ok: false, error: { code: 'SESSION_LOCKED' } });
    }
    expect(await adminCall(t.sup.adminSocketPath, 'session.unlock')).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });
    // Nor on the shell's socket as root, with the right password.
    expect(await rpc.call('session.unlock', { password: account.password })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });

    // A wrong password: refused by PAM, journaled with the count, and the next try must wait.
    const wrong = await own.call('session.unlock', { password: `${account.password}-wrong` });
    expect(wrong).toMatchObject({ ok: true, result: { locked: true, failures: 1 } });
    expect(await own.call('session.unlock', { password: account.password })).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    await new Promise((r) => setTimeout(r, 3100));
    expect(await own.call('session.unlock', { password: account.password })).toMatchObject({ ok: true, result: { locked: false } });

    // Unlocked: a viewer opens again, input flows to the cage in front.
    expect(sup.focus.isInFront('low')).toBe(true);
    (await t.viewer('low')).close();
    const journal = readFileSync(join(t.root, 'state', 'audit.jsonl'), 'utf8');
    expect(journal).not.toContain(account.password);
    const kinds = t.records().map((r) => [r.kind, r.actor]);
    expect(kinds).toEqual(expect.arrayContaining([['session.lock', 'admin'], ['session.unlock-failed', 'user'], ['session.unlock', 'user']]));
  });
});
