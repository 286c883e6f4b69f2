import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../policy/policyLoader';

const LEVELS = `levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;

function problems(text: string): string {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as Error).message;
  }
  throw new Error('policy was accepted');
}

describe('smartcard policy', () => {
  it('is absent by default: no level has a card', () => {
    expect(parsePolicy(`version: 1\n${LEVELS}`, 'p.yaml').smartcard).toBeUndefined();
  });

  it('fills safe defaults: PINs and objects untouchable, no export, shared, PIN in the cage', () => {
    const card = parsePolicy(`version: 1\n${LEVELS}smartcard:\n  levels:\n    high: { objects: [high-sign] }\n`, 'p.yaml').smartcard!;
    expect(card.levels.high).toMatchObject({ allowExport: false, deny: expect.arrayContaining(['C_SetPIN', 'C_InitPIN', 'C_InitToken', 'C_SetAttributeValue', 'C_CopyObject', 'C_DestroyObject']) });
    expect(card).toMatchObject({ exclusive: false, pin: 'cage' });
  });

  it('takes the PIN in the trusted dialog when asked to', () => {
    expect(parsePolicy(`version: 1\n${LEVELS}smartcard:\n  pin: trusted\n  levels:\n    high: { objects: [a] }\n`, 'p.yaml').smartcard).toMatchObject({ pin: 'trusted' });
  });

  it('says where a bad entry is (file:line)', () => {
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    middle: { objects: [x] }\n`)).toMatch(/policy\.yaml:7.*no level "middle"/);
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    high: { objects: ["high.*"] }\n`)).toMatch(/policy\.yaml:7.*no dots, no wildcards/);
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    high: { objects: [a], deny: [C_Unknown] }\n`)).toMatch(/policy\.yaml:7/);
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  pin: dialog\n  levels:\n    high: { objects: [a] }\n`)).toMatch(/policy\.yaml:6.*smartcard\.pin: must be one of "cage", "trusted"/);
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    high: { objects: [a], uid: 61001 }\n`)).toMatch(/uid 61001 is a cage's/);
    // The module's environment is set for the root-run setpriv too: never the loader's own variables.
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  environment: { LD_PRELOAD: /tmp/x.so }\n  levels:\n    high: { objects: [a] }\n`)).toMatch(/policy\.yaml:6.*acts on the dynamic loader/);
    expect(parsePolicy(`version: 1\n${LEVELS}smartcard:\n  environment: { SOFTHSM2_CONF: /etc/softhsm/softhsm2.conf }\n  levels:\n    high: { objects: [a] }\n`, 'p.yaml').smartcard!.environment).toEqual({ SOFTHSM2_CONF: '/etc/softhsm/softhsm2.conf' });
  });

  it("refuses two levels' proxies on one uid, a proxy uid that is a cage's or the part's, defaults included", () => {
    // Explicit and explicit; explicit and another level's default (61100 + position: high is second).
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a], uid: 60700 }\n    high: { objects: [b], uid: 60700 }\n`)).toMatch(/policy\.yaml:8.*smartcard\.levels\.high\.uid: uid 60700 is already level "low"'s card proxy's/);
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a], uid: 61101 }\n    high: { objects: [b] }\n`)).toMatch(/policy\.yaml:8.*uid 61101 \(the default: 61100 \+ its position\) is already level "low"'s/);
    // A cage's uid left to its default (61000 + position) met by a proxy's.
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a], uid: 61000 }\n`)).toMatch(/policy\.yaml:7.*uid 61000 is a cage's/);
    // Root is below the schema's floor.
    expect(problems(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a], uid: 0 }\n`)).toMatch(/policy\.yaml:7.*smartcard\.levels\.low\.uid/);
    // The unprivileged part's account (the manager's load names it).
    const part = { name: 'cloison', uid: 60730, gid: 60730 };
    expect(() => parsePolicy(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a], uid: 60730 }\n`, 'policy.yaml', 'whole', part)).toThrow(/policy\.yaml:7.*uid 60730 is the cloison account's/);
    // Distinct uids, defaults included, are taken.
    const card = parsePolicy(`version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a] }\n    high: { objects: [b], uid: 60730 }\n`, 'p.yaml', 'whole', { name: 'cloison', uid: 60731, gid: 60731 }).smartcard!;
    expect(card.levels.high!.uid).toBe(60730);
  });
});
