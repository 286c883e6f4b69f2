/**
 * An administrator's policy reload, split: the cage manager's SIGHUP (`systemctl reload`, or
 * `cloison policy reload` as root), passed on to its part once the manager took the file; the
 * part's own `policy.reload` is refused, the file not read (#29 review: the moment is the
 * administrator's, stalledSave.attack.test.ts). A real manager process (managerMain.ts) with a real
 * part of the `cloison` account (testing/policyReloadPart.ts: the part's running policy, reloader
 * and admin handlers). The policy at start gives low the microphone; the reload of one that takes
 * it away must leave a compromised part no way to have the manager record it. Seen before (the
 * part's reload alone, as the admin socket did): after the reload the manager still answered low's
 * `sound.host` record past its policy, the part's copy saying no microphone.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagerWithPart, type ManagerWithPart } from '../testing/managerProcessWithPart';
import { sendFramesAs } from '../testing/rawFramesAs';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE, MANAGER_SOCKET_FILE } from './managerExecutors';

let manager: ManagerWithPart;
const step = (name: string) => manager.step(name);
const policyOf = (audio: string) => twoLevelPolicy({ low: bwrapCage({ uid: 58550 }), high: bwrapCage({ uid: 58551 }) }, `audio: ${audio}\n`);
// Each reading of the policy file the manager applies, as its log says it (its journal writes a repeat once: managerPolicyReload.ts).
const readsLogged = () => manager.stderr().split('\n').filter((l) => l.includes('"msg":"policy reloaded"')).length;
/** The administrator's save, settled: the manager takes a file only once it has been left alone a second (settledPolicyText.ts). */
const save = (text: string) => {
  writeFileSync(manager.policyFile, text);
  utimesSync(manager.policyFile, new Date(Date.now() - 2000), new Date(Date.now() - 2000));
};
const managerJournal = () => readFileSync(join(manager.state, MANAGER_JOURNAL_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === 'policy.reload');
const flag = (name: string) => manager.flag(name);
const reached = (name: string) => waitFor(() => !!step(name) || manager.process.exitCode !== null, `the part's ${name} step`, 60_000);

beforeAll(async () => {
  manager = await startManagerWithPart({ prefix: 'cloison-prl-', policy: policyOf('{ microphone: [low] }'), policyMode: 0o644, part: 'supervisor/testing/policyReloadPart.ts', partFlags: true });
}, 60_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

describe("an administrator's policy reload, split: the manager's SIGHUP, never the part's request", () => {
  it('SIGHUP: the manager takes the file, the part runs it, and the microphone it takes away is refused to the part at once', async () => {
    await reached('start');
    // At start the policy gives low the microphone: past the manager's check (no sound server on this machine).
    expect(step('start')!.sound).toMatchObject({ ok: false, code: 'WRONG_STATE' });
    save(policyOf('{ microphone: [] }'));
    manager.process.kill('SIGHUP');
    await reached('sighup');
    expect(step('sighup')).toMatchObject({ outcome: { decision: 'applied' }, microphone: [] });
    expect(managerJournal().at(-1)).toMatchObject({ actor: 'supervisor', decision: 'applied', asker: 'SIGHUP', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The admin socket's reload is refused on the part, naming the reloads that reach the manager.
    flag('reload');
    await reached('reload');
    const reload = step('reload')!;
    expect(reload.outcome).toMatchObject({ decision: 'refused', reason: expect.stringMatching(/systemctl reload cloison-cage-manager/) });
    expect(reload.microphone).toEqual([]);
    // A compromised part asking for what the new policy took away.
    expect(reload.sound).toMatchObject({ ok: false, code: 'POLICY_DENIED', error: expect.stringMatching(/may not have the microphone/) });
  }, 90_000);

  it("the part's policy.reload is refused, the file not read: 40 at once, then a raw flood of 200", async () => {
    save(policyOf('{ microphone: [low] }'));
    const before = readsLogged();
    flag('flood');
    await reached('flood');
    expect(step('flood')).toMatchObject({ answered: 40, accepted: 0 });
    const frames = Array.from({ length: 200 }, (_, id) => ({ json: { id, request: { op: 'policy.reload' } } }));
    const outcome = await sendFramesAs(manager.cloison, join(manager.run, MANAGER_SOCKET_FILE), frames);
    const replies = outcome.replies as Array<{ ok: boolean; result?: { accepted: boolean; reason?: string }; error?: { code: string } }>;
    expect(replies).toHaveLength(200);
    expect(replies.filter((r) => r.ok && r.result?.accepted)).toEqual([]);
    expect(replies.filter((r) => r.ok).every((r) => /only at its SIGHUP/.test(r.result?.reason ?? ''))).toBe(true);
    expect(readsLogged()).toBe(before);
    // The refusals journaled once, however often asked.
    expect(managerJournal().filter((r) => r.asker === 'the cloison part')).toHaveLength(1);
  }, 90_000);

  it('systemctl reload of a policy the manager refuses: the part is not told and runs only what the manager took', async () => {
    // Low moved onto a WireGuard tunnel whose configuration root cannot use: the manager refuses it;
    // the part's own reading skips the configurations (root's alone), so it would have taken it.
    await reached('start'); // its SIGHUP handler set
    const tunnelled = twoLevelPolicy({ low: bwrapCage({ uid: 58550 }).replace('network: none', `network: { mode: wireguard, config: ${join(manager.root, 'wg-missing.conf')} }`), high: bwrapCage({ uid: 58551 }) }, 'audio: { microphone: [low] }\n');
    save(tunnelled);
    const refusals = () => manager.stderr().split('\n').filter((l) => l.includes('"msg":"new policy refused')).length;
    const before = refusals();
    manager.process.kill('SIGHUP');
    await waitFor(() => refusals() > before, "the manager's refusal", 30_000);
    expect(manager.stderr()).toMatch(/wg-missing\.conf/);
    // The next policy the manager takes is passed on, and it is the first the part reloads on SIGHUP.
    save(policyOf('{ microphone: [high] }'));
    manager.process.kill('SIGHUP');
    await waitFor(() => manager.reports.filter((r) => r.step === 'sighup').length >= 2, 'the second sighup report', 30_000);
    expect(manager.reports.filter((r) => r.step === 'sighup')).toEqual([expect.objectContaining({ step: 'sighup' }), { step: 'sighup', outcome: { decision: 'applied' }, microphone: ['high'] }]);
  }, 90_000);
});
