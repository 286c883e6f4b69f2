/**
 * Clipboard rules from the policy: per-direction defaults, per-pair overrides, multi-paste and
 * expiry — the broker's decisions without cages (its cage side is tested with real cages in
 * clipboardBroker.test.ts).
 */
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipboardRuleFor } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { Confirmations } from '../confirm/confirmations';
import { parsePolicy } from '../policy/policyLoader';
import { ClipboardBroker, type CageClipboards } from './clipboardBroker';

const LEVELS = `levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#1b7f3b", cage: { driver: bwrap } }
  - { id: mid, rank: 1, label: { fr: Moyen, en: Mid }, colour: "#c98a00", cage: { driver: bwrap } }
  - { id: high, rank: 2, label: { fr: Haut, en: High }, colour: "#b3261e", cage: { driver: bwrap } }
`;

function brokerFor(clipboardYaml: string, now: () => number = Date.now) {
  const policy = parsePolicy(`version: 1\n${LEVELS}${clipboardYaml}`, 'p.yaml');
  const cageText: Record<string, string> = { low: 'from low', mid: 'from mid', high: 'from high' };
  const clipboards: CageClipboards = {
    read: async (level) => ({ kind: 'text', bytes: Buffer.from(cageText[level]!) }),
    write: async (level, text) => void (cageText[level] = text),
  };
  const journal = new FileAuditJournal(join(testRoot('cloison-cb-'), 'audit.jsonl'));
  const confirmations = new Confirmations({ publish: () => {}, settle: () => {} });
  const broker = new ClipboardBroker({ policy: { current: () => policy }, clipboards, confirmations, journal, onChange: () => {}, now });
  return { policy, broker, cageText };
}

describe('clipboard policy', () => {
  it('defaults: up ask, down deny, lateral deny, 64 KiB, single use, 2 minutes', () => {
    const { policy } = brokerFor('');
    const [low, , high] = policy.levels;
    expect(clipboardRuleFor(policy, low!, high!)).toEqual({ decision: 'ask', maxBytes: 65536, kinds: ['text'], singleUse: true, expirySeconds: 120 });
    expect(clipboardRuleFor(policy, high!, low!).decision).toBe('deny');
  });

  it('lets a pair override its direction, field by field', async () => {
    const { policy, broker, cageText } = brokerFor('clipboard:\n  pairs:\n    - { from: low, to: mid, decision: allow, singleUse: false }\n');
    const [low, mid, high] = policy.levels;
    expect(clipboardRuleFor(policy, low!, mid!)).toMatchObject({ decision: 'allow', singleUse: false, maxBytes: 65536 });
    expect(clipboardRuleFor(policy, low!, high!).decision).toBe('ask');
    await broker.copy('low');
    expect(await broker.paste('mid')).toEqual({ outcome: 'pasted' });
    expect(await broker.paste('mid')).toEqual({ outcome: 'pasted' }); // multi-paste for this pair
    expect(cageText.mid).toBe('from low');
    expect(broker.state).not.toBeNull();
  });

  it('enforces a per-direction size limit at paste time', async () => {
    const { broker, cageText } = brokerFor('clipboard:\n  up: { decision: allow, maxBytes: 4 }\n');
    await broker.copy('low'); // 8 bytes: within the largest limit from low, which bounds the read
    expect(await broker.paste('high')).toEqual({
      outcome: 'denied',
      reason: '8 bytes is over the 4-byte limit from Low to High',
      reasonText: { fr: '8 octets dépassent la limite de 4 octets de Bas à Haut', en: '8 bytes is over the 4-byte limit from Low to High' },
    });
    expect(cageText.high).toBe('from high');
  });

  it('enforces each direction\'s expiry, and forgets held text after the longest', async () => {
    let now = 1_000_000;
    const { broker } = brokerFor('clipboard:\n  up: { decision: allow, expirySeconds: 10 }\n', () => now);
    await broker.copy('low');
    now += 11_000;
    expect(await broker.paste('high')).toMatchObject({ outcome: 'denied', reason: expect.stringContaining('longer than the 10 s') });
    now += 120_000;
    expect(broker.state).toBeNull();
    await expect(broker.paste('high')).rejects.toThrow(/empty/);
  });

  it('takes each direction\'s decision from flows unless the section writes its own', () => {
    const { policy } = brokerFor('flows: { up: deny, down: ask }\nclipboard:\n  down: { decision: deny }\n');
    const [low, , high] = policy.levels;
    expect(clipboardRuleFor(policy, low!, high!).decision).toBe('deny'); // from flows.up
    expect(clipboardRuleFor(policy, high!, low!).decision).toBe('deny'); // written in clipboard.down
    expect(policy.files.up.decision).toBe('deny');
    expect(policy.files.down.decision).toBe('ask');
  });

  it('refuses a pair naming a level the policy lacks', () => {
    expect(() => brokerFor('clipboard:\n  pairs:\n    - { from: low, to: secret, decision: allow }\n')).toThrow(/clipboard\.pairs\[0\]\.to: no level "secret"/);
  });
});
