/**
 * Issue #27's attacks on the unlock, each played against a real supervisor, real accounts and the
 * machine's real PAM stack: a second member of the shell group connects to the shell's socket and
 * unlocks with their own password; the administrator points session.pamService at Debian's `su`
 * (pam_rootok) by a policy reload, locks and unlocks with any password. Both leave the workstation
 * locked now; the workstation user's own shell still unlocks with that user's password.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from '../cli/adminClient';
import { createPamTestUser, createTestGroup, type PamTestUser } from '../testing/pamTestUser';
import { rpcClientAs, type RpcClient } from '../testing/rpcClient';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { testRoot } from '../testing/realCage';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';

const cages = { low: vncCage('/nonexistent/low.sock'), high: vncCage('/nonexistent/high.sock') };

describe('unlock attacks (issue #27, real PAM, real accounts)', () => {
  let alice: PamTestUser; // the workstation's user
  let bob: PamTestUser; // another member of the shell group
  let group: { gid: number; remove(): void };
  let t: TestSupervisor | undefined;
  const clients: RpcClient[] = [];

  beforeAll(() => {
    alice = createPamTestUser();
    bob = createPamTestUser();
    group = createTestGroup([alice.user, bob.user]);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await t?.stop();
    t = undefined;
  });
  afterAll(() => {
    group?.remove();
    alice?.remove();
    bob?.remove();
  });

  /** A supervisor whose shell socket the group's members can reach, as the packaged unit's is. */
  async function start(policy: string, options: { shellUser?: string; root?: string; policySource?: string } = {}) {
    t = await startTestSupervisor(policy, { shellGroup: group.gid, ...options });
    chmodSync(t.root, 0o711);
    chmodSync(join(t.root, 'run'), 0o711);
    return t;
  }
  async function shellOf(account: PamTestUser): Promise<RpcClient> {
    const client = await rpcClientAs(t!.sup.rpcSocketPath, account.uid, account.gid);
    clients.push(client);
    return client;
  }

  it("another member of the shell group cannot unlock with their own password (no --shell-user, as the unit runs)", async () => {
    await start(twoLevelPolicy(cages, `session: { pamService: ${bob.service} }\n`));
    const intruder = await shellOf(bob);
    expect(await adminCall(t!.sup.adminSocketPath, 'session.lock')).toMatchObject({ ok: true });
    await intruder.call('session.unlock', { password: bob.password });
    expect(t!.sup.lock.locked).toBe(true);
  });

  it("with the workstation's user named, another member's shell is refused and journaled; that user's own shell unlocks", async () => {
    await start(twoLevelPolicy(cages, `session: { pamService: ${alice.service}, user: ${alice.user} }\n`));
    const intruder = await shellOf(bob);
    expect(await adminCall(t!.sup.adminSocketPath, 'session.lock')).toMatchObject({ ok: true });
    expect(await intruder.call('session.unlock', { password: bob.password })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });
    // Even with the right password, from the wrong connection: refused before PAM is asked.
    expect(await intruder.call('session.unlock', { password: alice.password })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });
    // Root's own connection (an administrator's) may not unlock either.
    expect(await t!.rpc.call('session.unlock', { password: alice.password })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });
    expect(t!.sup.lock.locked).toBe(true);
    const refused = t!.records().filter((r) => r.kind === 'session.unlock-refused');
    expect(refused.map((r) => r.peerUid)).toEqual([bob.uid, bob.uid, 0]);
    expect(JSON.stringify(t!.records())).not.toContain(alice.password);
    // Refusals cost the real user nothing: no failure, no wait.
    const own = await shellOf(alice);
    expect(await own.call('session.unlock', { password: alice.password })).toMatchObject({ ok: true, result: { locked: false, user: alice.user } });
  });

  it("the administrator's su service (pam_rootok) by a policy reload, then lock: any password leaves it locked", async () => {
    const root = testRoot();
    const file = join(root, 'policy.yaml');
    const good = twoLevelPolicy(cages, `session: { pamService: ${alice.service} }\n`);
    writeFileSync(file, good);
    await start(good, { shellUser: alice.user, root, policySource: file });
    writeFileSync(file, twoLevelPolicy(cages, 'session: { pamService: su }\n'));
    const reload = await adminCall(t!.sup.adminSocketPath, 'policy.reload');
    expect(await adminCall(t!.sup.adminSocketPath, 'session.lock')).toMatchObject({ ok: true });
    const own = await shellOf(alice);
    await own.call('session.unlock', { password: 'anything at all' });
    expect(t!.sup.lock.locked).toBe(true);
    expect(reload).toMatchObject({ ok: true, result: { decision: 'refused' } });
    expect(JSON.stringify(reload)).toMatch(/pamService.*(cloison-unlock|\/etc\/pam\.d\/su:\d+: pam_rootok)/);
  });
});
