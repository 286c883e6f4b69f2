/**
 * The card through the real supervisor: a policy with `smartcard`, the supervisor's own start (card
 * proxies before the cages, each cage binding its level's folder), and in each cage the p11-kit
 * loader every application uses (p11-kit-proxy.so, no module named) finding the card with only its
 * level's objects; a refusal reaching the supervisor's journal file.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest, P11KIT_PROXY, startCardSupervisor } from '../testing/cardFixture';
import type { SoftToken } from '../testing/softToken';
import type { AuditRecord } from '../audit/auditJournal';
import { forwardable } from '../audit/journalForwarder';
import { launcherShell } from '../testing/realCage';
import { TOKEN_PIN } from '../testing/softToken';
import { type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';
import { CAGE_CARD_DIR, CAGE_CARD_CLIENT_MODULE } from './cageCardEndpoint';

const missing = missingForCardTest('smartcard supervisor test');

const BASE = 55_000 + (process.pid % 100) * 2;
const UIDS = { low: BASE, high: BASE + 1 };
const PROXY_UID = 52_300 + (process.pid % 100);

describe('smart card in the supervisor', skipWhenMissing(missing), () => {
  let t: TestSupervisor;
  let root: string;
  const shell = (level: string) => launcherShell(t.sup.cages.get(level)!.cage!);

  beforeAll(async () => {
    let token: SoftToken;
    ({ root, token } = cardTestRoot('cloison-scs-', PROXY_UID));
    t = await startCardSupervisor(root, cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign', 'high-secret'], low: ['low-auth'] })));
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('each cage\'s default loader finds the card with its level\'s objects only', async () => {
    const high = await shell('high')(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} -O 2>&1`, 30_000);
    expect(high.stdout).toContain('label:      high-sign');
    expect(high.stdout).not.toContain('low-auth');
    const low = await shell('low')(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} -O 2>&1`, 30_000);
    expect(low.stdout).toContain('label:      low-auth');
    expect(low.stdout).not.toContain('high-');
    // The run folder stays the supervisor's alone; the card's folders are beside it.
    expect(statSync(join(root, 'run')).mode & 0o777).toBe(0o700);
  }, 90_000);

  it('a shared card cannot be assigned', async () => {
    expect(await t.rpc.call('smartcard.assign', { level: 'high' })).toMatchObject({ ok: false, error: { code: 'WRONG_STATE' } });
  });

  it('a refused PIN change reaches the journal, without the PIN', async () => {
    const r = await shell('low')(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} --change-pin --new-pin 424242 2>&1`, 30_000);
    expect(r.code).not.toBe(0);
    await waitFor(() => t.records().some((x) => x.kind === 'smartcard.refused' && x.function === 'C_SetPIN' && x.level === 'low'), 'the refusal in the journal', 15_000);
    const journal = JSON.stringify(t.records());
    expect(journal).not.toContain(TOKEN_PIN);
    expect(journal).not.toContain('424242');
  }, 60_000);

  it('a refused read of a key\'s value is journaled with the key\'s label as the token names it; the forwarded copy has only its fingerprint', async () => {
    const r = await shell('high')(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} --read-object --type secrkey --label high-secret -o /tmp/value 2>&1`, 30_000);
    expect(r.code).not.toBe(0);
    await waitFor(() => t.records().some((x) => x.kind === 'smartcard.refused' && x.function === 'C_GetAttributeValue' && x.label === 'high-secret'), 'the named refusal in the journal', 15_000);
    const record = t.records().find((x) => x.kind === 'smartcard.refused' && x.label === 'high-secret')!;
    expect(record).toMatchObject({ level: 'high', reason: 'sensitive-value', id: '03' });
    const fingerprint = (text: string) => `fp:${text.length}`;
    const forwarded = forwardable(record as unknown as AuditRecord, fingerprint) as unknown as Record<string, unknown>;
    expect(forwarded.label).toBeUndefined();
    expect(forwarded).toMatchObject({ labelLength: 11, labelFingerprint: 'fp:11', level: 'high' });
  }, 60_000);

  it('pulling the card out ends every session: a session logged in before never signs again, even with the card back; a fresh login does', async () => {
    // SoftHSM2's card "in the reader": its token's folder in the token directory (a reader's slot for OpenSC).
    const tokens = join(root, 'token', 'tokens');
    const [folder] = readdirSync(tokens);
    const pulled = join(root, 'pulled');
    mkdirSync(pulled, { mode: 0o700 });
    await waitFor(() => t.sup.smartcard?.view().present === true, 'the card seen in the reader', 10_000).catch(() => undefined);
    // An application in high logged in, one signature made, waiting.
    const probe = readFileSync(join(__dirname, '../testing/pkcs11Probe.py'), 'utf8');
    const held = shell('high')(`rm -f /tmp/ready /tmp/go; cat > /tmp/probe.py <<'PY'\n${probe}PY\npython3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} hold ${TOKEN_PIN} /tmp/ready /tmp/go 2>&1`, 90_000);
    await waitFor(async () => (await shell('high')('test -e /tmp/ready && echo ready', 10_000)).stdout.includes('ready'), 'the held session\'s first signature', 30_000);

    renameSync(join(tokens, folder!), join(pulled, folder!));
    // Each wait gives the watcher its time; what matters is asserted after the card is back.
    await waitFor(() => t.records().some((r) => r.kind === 'smartcard.removed'), 'the card seen pulled out', 10_000).catch(() => undefined);
    const whilePulled = t.sup.smartcard?.view().present;
    renameSync(join(pulled, folder!), join(tokens, folder!));
    await waitFor(() => t.records().some((r) => r.kind === 'smartcard.inserted'), 'the card seen back', 10_000).catch(() => undefined);
    await shell('high')('touch /tmp/go', 10_000);
    const answer = (await held).stdout.trim().split('\n').filter((l) => l.startsWith('{'));
    console.log(`held session across the card pulled and put back: ${answer.join(' | ')}`);
    const first = JSON.parse(answer[0]!) as { login: number; first: number };
    expect(first).toMatchObject({ login: 0, first: 0 });
    // The old session's signature after the card came back: refused, or its connection gone.
    const after = answer.length > 1 ? (JSON.parse(answer.at(-1)!) as { after?: number }).after : undefined;
    expect(after).not.toBe(0);

    expect(whilePulled).toBe(false);
    const removed = t.records().find((r) => r.kind === 'smartcard.removed');
    expect(removed).toMatchObject({ actor: 'supervisor', levels: expect.stringMatching(/high/) });
    expect(String(removed!.levels).split(',').sort()).toEqual(['high', 'low']);
    expect(t.records().some((r) => r.kind === 'smartcard.inserted' && r.token === removed!.token)).toBe(true);
    expect(t.sup.smartcard?.view().present).toBe(true);
    // The card back: an application logging in afresh signs.
    await shell('high')('echo document > /tmp/doc', 10_000);
    const fresh = await shell('high')(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig 2>&1`, 30_000);
    expect(fresh.code, fresh.stdout).toBe(0);
  }, 180_000);
});

describe('exclusive smart card, given and taken back over the shell\'s RPC', skipWhenMissing(missing), () => {
  let t: TestSupervisor;
  const shell = (level: string) => launcherShell(t.sup.cages.get(level)!.cage!);
  const lists = async (level: string) => (await shell(level)(`pkcs11-tool --module ${P11KIT_PROXY} -L 2>&1`, 30_000)).stdout.includes('token label        : card');

  beforeAll(async () => {
    const { root, token } = cardTestRoot('cloison-scx-', PROXY_UID + 100);
    const card = cardSection(token, PROXY_UID + 100, { high: ['high-sign'], low: ['low-auth'] }, { exclusive: true });
    t = await startCardSupervisor(root, cardPolicy({ low: UIDS.low + 200, high: UIDS.high + 200 }, card));
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('no level has the card until the user gives it; giving it to another takes it back first; all journaled with who', async () => {
    expect(await lists('high')).toBe(false);
    expect(await t.rpc.call('smartcard.assign', { level: 'high' })).toMatchObject({ ok: true, result: { holder: 'high' } });
    expect(await lists('high')).toBe(true);
    expect(await lists('low')).toBe(false);
    expect(await t.rpc.call('smartcard.assign', { level: 'low' })).toMatchObject({ ok: true, result: { holder: 'low' } });
    expect(await lists('low')).toBe(true);
    expect(await lists('high')).toBe(false);
    expect(await t.rpc.call('smartcard.assign', { level: null })).toMatchObject({ ok: true, result: { holder: null } });
    expect(await lists('low')).toBe(false);
    const moves = t.records().filter((r) => r.kind === 'smartcard.assign').map((r) => `${String(r.actor)}:${String(r.action)}:${String(r.level)}`);
    expect(moves).toEqual(['user:give:high', 'user:take:high', 'user:give:low', 'user:take:low']);
  }, 120_000);

  it('locking the workstation takes the card back, as it takes the microphone: the holder\'s sessions end, journaled', async () => {
    expect(await t.rpc.call('smartcard.assign', { level: 'high' })).toMatchObject({ ok: true, result: { holder: 'high' } });
    // An application in high with a session open on the card when the workstation locks.
    const raw = readFileSync(join(__dirname, '../testing/rawSocketProbe.py'), 'utf8');
    const held = shell('high')(`rm -f /tmp/held; cat > /tmp/raw.py <<'PY'\n${raw}PY\npython3 /tmp/raw.py ${CAGE_CARD_DIR}/pkcs11.sock hold /tmp/held`, 30_000);
    await waitFor(async () => (await shell('high')('test -e /tmp/held && echo connected', 10_000)).stdout.includes('connected'), 'the held connection', 20_000);
    const locked = await t.rpc.call('session.lock', {}); expect(locked, JSON.stringify(locked)).toMatchObject({ ok: true, result: { locked: true } });
    expect(JSON.parse((await held).stdout.trim())).toMatchObject({ closed: true });
    await waitFor(() => t.sup.smartcard?.view().holder === null, 'the card taken back', 10_000);
    expect(await lists('high')).toBe(false);
    // Nobody gives it out again while locked.
    expect(await t.rpc.call('smartcard.assign', { level: 'high' })).toMatchObject({ ok: false, error: { code: 'SESSION_LOCKED' } });
    const last = t.records().filter((r) => r.kind === 'smartcard.assign').at(-1);
    expect(last).toMatchObject({ actor: 'supervisor', action: 'take', level: 'high' });
  }, 120_000);
});
