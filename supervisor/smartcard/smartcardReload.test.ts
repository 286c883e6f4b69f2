/**
 * A policy reload reaches the card: the running supervisor (SoftHSM2 token, real cages, pkcs11-tool
 * in the cage) reloads a policy that takes an object off a level's list, and that level's proxy
 * restarts with the new filter — the object is no longer listed in its cage and the connection it
 * had open ends; the other level's proxy is left alone. A withdrawn card goes and comes back. Journaled smartcard.policy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest, P11KIT_PROXY, startCardSupervisor } from '../testing/cardFixture';
import { launcherShell } from '../testing/realCage';
import { TOKEN_PIN } from '../testing/softToken';
import { type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';
import { CAGE_CARD_DIR } from './cageCardEndpoint';

const missing = missingForCardTest('smartcard reload test');

const BASE = 55_400 + (process.pid % 100) * 4;
const PROXY_UID = 52_100 + (process.pid % 100);

describe('a policy reload changes the card', skipWhenMissing(missing), () => {
  let t: TestSupervisor;
  let policyFile: string;
  let policyOf: (lowObjects: string, high?: boolean, exclusive?: boolean) => string;
  const shell = (level: string) => launcherShell(t.sup.cages.get(level)!.cage!);
  const lists = async (level: string) => (await shell(level)(`pkcs11-tool --module ${P11KIT_PROXY} -L 2>&1`, 30_000)).stdout.includes('token label        : card');
  const reload = async (text: string) => {
    writeFileSync(policyFile, text);
    return t.sup.reloadPolicy();
  };
  const objects = async (level: string) => (await shell(level)(`pkcs11-tool --module ${P11KIT_PROXY} --login --pin ${TOKEN_PIN} -O 2>&1`, 30_000)).stdout;

  beforeAll(async () => {
    const { root, token } = cardTestRoot('cloison-scr-', PROXY_UID);
    policyOf = (lowObjects, high = true, exclusive = false) => cardPolicy({ low: BASE, high: BASE + 1 }, cardSection(token, PROXY_UID, { ...(high ? { high: ['high-sign'] } : {}), low: [lowObjects] }, { exclusive }));
    policyFile = join(root, 'policy.yaml');
    const text = policyOf('low-auth, high-sign');
    writeFileSync(policyFile, text);
    t = await startCardSupervisor(root, text, { policySource: policyFile });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('an object taken off a level\'s list is no longer listed in its cage after the reload', async () => {
    const before = await objects('low');
    expect(before).toContain('label:      low-auth');
    expect(before).toContain('label:      high-sign');

    // An application in low with a connection open on the card when the policy changes.
    const raw = readFileSync(join(__dirname, '../testing/rawSocketProbe.py'), 'utf8');
    const held = shell('low')(`rm -f /tmp/held; cat > /tmp/raw.py <<'PY'\n${raw}PY\npython3 /tmp/raw.py ${CAGE_CARD_DIR}/pkcs11.sock hold /tmp/held`, 30_000);
    await waitFor(async () => (await shell('low')('test -e /tmp/held && echo connected', 10_000)).stdout.includes('connected'), 'the held connection', 20_000);
    const outcome = await reload(policyOf('low-auth'));
    expect(outcome.decision).toBe('applied');
    expect(outcome.changes.join('\n')).toContain('smartcard');
    // Its proxy restarted with the new filter: the connection it had is closed.
    expect(JSON.parse((await held).stdout.trim())).toMatchObject({ closed: true });

    const after = await objects('low');
    expect(after).toContain('label:      low-auth');
    expect(after).not.toContain('high-sign');
    // The other level's filter did not change: still its object.
    expect(await objects('high')).toContain('label:      high-sign');
    const facts = t.records().filter((r) => r.kind === 'smartcard.policy');
    expect(facts).toMatchObject([{ restarted: 'low' }]);
  }, 120_000);

  it('a level\'s card withdrawn by a reload is gone from its cage, and a later reload gives it back', async () => {
    expect(await lists('high')).toBe(true);
    expect(await reload(policyOf('low-auth', false))).toMatchObject({ decision: 'applied' });
    expect(await lists('high')).toBe(false);
    expect(t.sup.smartcard?.view().levels.map((l) => l.level)).toEqual(['low']);
    expect(await objects('low')).toContain('label:      low-auth');
    expect(t.records().filter((r) => r.kind === 'smartcard.policy').at(-1)).toMatchObject({ withdrawn: 'high' });
    // The cage kept its card folder: the card comes back without restarting it.
    expect(await reload(policyOf('low-auth'))).toMatchObject({ decision: 'applied' });
    expect(await objects('high')).toContain('label:      high-sign');
  }, 120_000);

  it('a reload making the card exclusive takes it from every level; the user may then give it; back to shared, every level has it', async () => {
    expect(await reload(policyOf('low-auth', true, true))).toMatchObject({ decision: 'applied' });
    expect(await lists('low')).toBe(false);
    expect(await lists('high')).toBe(false);
    expect(await t.rpc.call('smartcard.assign', { level: 'high' })).toMatchObject({ ok: true, result: { exclusive: true, holder: 'high' } });
    expect(await lists('high')).toBe(true);
    expect(await lists('low')).toBe(false);
    // Shared again: the holder is let go (journaled, the supervisor as actor) and both levels have the card.
    expect(await reload(policyOf('low-auth'))).toMatchObject({ decision: 'applied' });
    expect(await lists('low')).toBe(true);
    expect(await lists('high')).toBe(true);
    expect(t.records().filter((r) => r.kind === 'smartcard.assign').at(-1)).toMatchObject({ actor: 'supervisor', action: 'take', level: 'high' });
  }, 120_000);
});

describe('a card for a level that had none at start waits for the next start', skipWhenMissing(missing), () => {
  let t: TestSupervisor;
  const lists = async (level: string) => (await launcherShell(t.sup.cages.get(level)!.cage!)(`pkcs11-tool --module ${P11KIT_PROXY} -L 2>&1`, 30_000)).stdout;

  afterAll(async () => {
    await t?.stop();
  }, 60_000);

  it('the reload says so and journals the level pending; the cage still has no card', async () => {
    const { root, token } = cardTestRoot('cloison-scp-', PROXY_UID + 100);
    const policyOf = (low: boolean) => cardPolicy({ low: BASE + 2, high: BASE + 3 }, cardSection(token, PROXY_UID + 100, { high: ['high-sign'], ...(low ? { low: ['low-auth'] } : {}) }));
    const policyFile = join(root, 'policy.yaml');
    writeFileSync(policyFile, policyOf(false));
    t = await startCardSupervisor(root, policyOf(false), { policySource: policyFile });
    writeFileSync(policyFile, policyOf(true));
    const outcome = await t.sup.reloadPolicy();
    expect(outcome.decision).toBe('applied');
    expect(outcome.changes.join('\n')).toContain('at the next start');
    expect(t.records().filter((r) => r.kind === 'smartcard.policy')).toMatchObject([{ pending: 'low' }]);
    expect(await lists('low')).not.toContain('token label        : card');
    expect(await lists('high')).toContain('token label        : card');
  }, 120_000);
});
