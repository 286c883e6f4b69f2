/**
 * Attack (attack-3, the administrator's policy): two levels' card proxies given one uid. Each
 * level's pkcs11proxyd runs as a uid of its own so that a worker a cage's bytes took over holds
 * nothing of another level's card: the checks root makes (the proxy socket's inode owner and its
 * listener, SO_PEERCRED) say "the level's proxy uid", and nothing more. A uid shared by two
 * levels makes a low worker taken over a process of the high proxy's uid: it may ptrace the high
 * proxy's workers (same uid, dumpable) — their sessions, logins and PINs — kill them, or listen in
 * their folder. The policy check refuses a proxy uid that is a cage's, but not one that is another
 * level's, and it does not see it when the collision is one level's explicit uid and another's
 * default (61100 + its position): `low: { uid: 61101 }` and `high` left to its default, 61101.
 *
 * What must be seen: the policy refused, where it says so. Seen succeeding: both policies accepted.
 */
import { describe, expect, it } from 'vitest';
import { cardProxyUid } from '../../shared/smartcardPolicy';
import { parsePolicy } from '../policy/policyLoader';

const LEVELS = `levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;

/** The two levels' proxy uids when the policy loads, or the loader's refusal. */
function outcome(card: string): { uids: number[] } | { refused: string } {
  try {
    const policy = parsePolicy(`version: 1\n${LEVELS}smartcard:\n  levels:\n${card}`, 'policy.yaml');
    return { uids: ['low', 'high'].map((level) => cardProxyUid(policy.smartcard!, level)) };
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

describe('two levels, one card proxy uid', () => {
  it.each([
    { how: 'named twice', card: '    low: { objects: [low-sign], uid: 60700 }\n    high: { objects: [high-sign], uid: 60700 }\n' },
    { how: "one level's uid the other's default", card: '    low: { objects: [low-sign], uid: 61101 }\n    high: { objects: [high-sign] }\n' },
  ])('$how: refused by the policy check', ({ card }) => {
    const result = outcome(card);
    expect(result, `both levels' proxies would run as uid ${'uids' in result ? result.uids.join(' and ') : ''}`).toHaveProperty('refused');
    expect('refused' in result && result.refused).toMatch(/policy\.yaml:\d+/);
  });
});
