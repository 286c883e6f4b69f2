/**
 * `smartcard.pin: trusted` through the real supervisor: the cage's `pkcs11-tool --login` (no PIN of
 * its own) raises the PIN question on the shell's socket; an answer sooner than the dialog's arming
 * time is refused; the PIN sent on `smartcard.pin` signs in high and is in no journal record; the
 * workstation locking with the dialog open cancels it and the cage gets no login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest, P11KIT_PROXY, startCardSupervisor } from '../testing/cardFixture';
import type { ConfirmRequest } from '../../shared/rpc';
import { CONFIRM_ARM_MS } from '../confirm/confirmations';
import { launcherShell } from '../testing/realCage';
import { type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';

const missing = missingForCardTest('trusted PIN supervisor test');

const BASE = 56_000 + (process.pid % 50) * 2;
const UIDS = { low: BASE, high: BASE + 1 };
const PROXY_UID = 52_500 + (process.pid % 100);
const USER_PIN = 'pin-5150-user';

describe('trusted PIN in the supervisor', skipWhenMissing(missing), () => {
  let t: TestSupervisor;
  const sign = () => launcherShell(t.sup.cages.get('high')!.cage!)(`echo doc > /tmp/doc; pkcs11-tool --module ${P11KIT_PROXY} --login --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig 2>&1 && wc -c < /tmp/sig`, 60_000);

  beforeAll(async () => {
    const { root, token } = cardTestRoot('cloison-pins-', PROXY_UID, USER_PIN);
    const card = cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }, { pin: 'trusted' });
    t = await startCardSupervisor(root, cardPolicy(UIDS, card));
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('the PIN question reaches the shell; an answer before the arming time is refused; the PIN typed signs in high', async () => {
    const question = t.rpc.next('onConfirmRequest') as Promise<ConfirmRequest>;
    const signed = sign();
    const request = await question;
    expect(request).toMatchObject({ kind: 'pin', level: 'high', application: 'pkcs11-tool' });
    expect(await t.rpc.call('smartcard.pin', { id: request.id, pin: USER_PIN })).toMatchObject({ ok: false, error: { code: 'WRONG_STATE' } });
    await new Promise((r) => setTimeout(r, 550));
    expect(await t.rpc.call('smartcard.pin', { id: 'another', pin: USER_PIN })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await t.rpc.call('smartcard.pin', { id: request.id, pin: USER_PIN })).toMatchObject({ ok: true });
    const r = await signed;
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe('256');
    await waitFor(() => t.records().some((x) => x.kind === 'smartcard.login' && x.level === 'high' && x.ok === true), 'the login in the journal', 15_000);
    expect(JSON.stringify(t.records())).not.toContain(USER_PIN);
  }, 90_000);

  it('a cage looping C_Login, the user cancelling: no dialog until the hold-off ends, its logins meanwhile refused and journaled once', async () => {
    const questions: Array<{ request: ConfirmRequest; at: number }> = [];
    const asked = (request: ConfirmRequest) => questions.push({ request, at: Date.now() });
    t.rpc.events.on('onConfirmRequest', asked);
    const low = launcherShell(t.sup.cages.get('low')!.cage!);
    let cancelledAt = 0;
    // Each line: when it started and ended (ms), pkcs11-tool's status, and whether it was told CKR_FUNCTION_CANCELED.
    // Bounded by time, not by count: refused at once during the hold-off, a fast machine's logins
    // would use up any count before the dialog comes back; /tmp/stop ends it once the test is done.
    const loop = low(`rm -f /tmp/stop; end=$(($(date +%s) + 100)); while [ ! -e /tmp/stop ] && [ "$(date +%s)" -lt "$end" ]; do s=$(date +%s%3N); pkcs11-tool --module ${P11KIT_PROXY} --login -O >/tmp/out 2>&1; rc=$?; echo "$s $(date +%s%3N) $rc $(grep -c CKR_FUNCTION_CANCELED /tmp/out)"; done`, 120_000);
    try {
      await waitFor(() => questions.length >= 1, 'the first PIN dialog', 30_000);
      expect(questions[0]!.request).toMatchObject({ kind: 'pin', level: 'low', application: 'pkcs11-tool' });
      await new Promise((r) => setTimeout(r, CONFIRM_ARM_MS + 50));
      cancelledAt = Date.now();
      expect(await t.rpc.call('confirm.answer', { id: questions[0]!.request.id, accept: false })).toMatchObject({ ok: true });
      await waitFor(() => questions.length >= 2, 'the dialog again, once the hold-off is over', 30_000);
      expect(questions[1]!.request).toMatchObject({ kind: 'pin', level: 'low' });
      expect(questions[1]!.at - cancelledAt, 'the first hold-off is 5 s').toBeGreaterThanOrEqual(5_000);
      await new Promise((r) => setTimeout(r, CONFIRM_ARM_MS + 50));
      expect(await t.rpc.call('confirm.answer', { id: questions[1]!.request.id, accept: false })).toMatchObject({ ok: true });
    } finally {
      t.rpc.events.off('onConfirmRequest', asked);
      await low('touch /tmp/stop', 10_000);
    }
    const r = await loop;
    const runs = r.stdout.trim().split('\n').map((line) => line.split(' ').map(Number) as [number, number, number, number]);
    // Logins that started after the cancel and ended before the dialog came back: refused, no dialog
    // (a few under this machine's load: pkcs11-tool takes 1-2 s a run when other tests share it).
    const heldOff = runs.filter(([start, end]) => start > cancelledAt && end < questions[1]!.at);
    expect(heldOff.length, r.stdout).toBeGreaterThanOrEqual(2);
    for (const [, , code, cancelled] of heldOff) expect([code, cancelled]).toEqual([1, 1]);
    const outcomes = t.records().filter((x) => x.kind === 'smartcard.pin' && x.level === 'low').map((x) => x.outcome);
    expect(outcomes.slice(0, 3)).toEqual(['cancelled', 'held-off', 'cancelled']);
    expect(outcomes.slice(3).every((o) => o === 'held-off') && outcomes.length <= 4, outcomes.join(',')).toBe(true);
    expect(t.records().some((x) => x.kind === 'smartcard.login' && x.level === 'low' && x.ok === true)).toBe(false);
  }, 120_000);

  it('the workstation locking with the dialog open cancels it: the cage gets no login', async () => {
    const question = t.rpc.next('onConfirmRequest') as Promise<ConfirmRequest>;
    const signed = sign();
    const request = await question;
    const settled = t.rpc.next('onConfirmSettled') as Promise<{ id: string; answer: string }>;
    expect(await t.rpc.call('session.lock', {})).toMatchObject({ ok: true });
    expect(await settled).toEqual({ id: request.id, answer: 'timed-out' });
    const r = await signed;
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/CKR_FUNCTION_CANCELED/);
    expect(t.records().some((x) => x.kind === 'smartcard.pin' && x.level === 'high' && x.outcome === 'timed-out')).toBe(true);
  }, 90_000);
});
