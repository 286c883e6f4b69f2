/**
 * Attack (attack-5, design): a card proxy uid that systemd hands to a service after the policy's
 * check. The check (cardProxyAccounts.ts) asks the name service once, at the policy's reading, and
 * requires the uid to be nobody's. But the default proxy uids (64100 + the level's position) lie in
 * systemd's range for DynamicUser= services, 61184–65519 (systemd's docs/UIDS-GIDS.md), which
 * nss-systemd lists only while such a service runs. systemd picks a dynamic uid by a hash of the
 * service's user name (then at random), and takes it when getpwuid/getgrgid (and SysV IPC) show
 * nobody has it: it never sees the running proxy, nor its folders, since the project keeps the
 * proxy uid out of the name service on purpose. So a DynamicUser service started after the
 * policy's reading (socket-activated ones start when any local user connects) may get the proxy's
 * uid: it then owns the proxy's workers (ptrace, signals, /proc) and the inner socket folder where
 * the guard injects the trusted PIN, and the check never runs again (not at the proxy's start).
 * The same holds for an explicit uid in that range (the schema allows 1000–65533).
 *
 * What the administrator should see: a policy whose proxy uids systemd may hand out is refused,
 * defaults included (systemd's "Unused" ranges, 60578–61183 and 65520–65533, are clear of it).
 * Not exploitable here (no systemd as PID 1 on this machine): the test is the rule.
 */
import { describe, expect, it } from 'vitest';
import { cardProxyUids, smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { parsePolicy } from './policyLoader';

/** systemd's DynamicUser= range (pkg-config --variable=dynamicuidmin/dynamicuidmax systemd). */
const DYNAMIC_MIN = 61_184;
const DYNAMIC_MAX = 65_519;

const POLICY = `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
smartcard:
  levels:
    low: { objects: [a] }
    high: { objects: [b] }
`;

describe('card proxy uids against systemd\'s dynamic users', () => {
  it('the default proxy uids are none systemd may give a DynamicUser= service', () => {
    const card = smartcardPolicySchema.parse({ levels: { low: { objects: ['a'] }, high: { objects: ['b'] } } });
    const inRange = cardProxyUids(card).filter(({ uid }) => uid >= DYNAMIC_MIN && uid <= DYNAMIC_MAX);
    expect(inRange).toEqual([]);
  });

  // Amended with the fix (cardfix-5): this case first read the policy with the defaults, which now
  // lie outside both ranges; it names explicit uids in each instead, and the defaults' policy is taken.
  it('a policy whose proxy uids systemd may hand out later is refused, at the uid\'s line', () => {
    const refusal = (text: string) => {
      try {
        parsePolicy(text, 'policy.yaml');
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    const withUids = (low: number, high: number) => POLICY.replace('low: { objects: [a] }', `low: { objects: [a], uid: ${low} }`).replace('high: { objects: [b] }', `high: { objects: [b], uid: ${high} }`);
    // 64100 (the old default) and 65519: DynamicUser=; 60001 and 60513: systemd-homed.
    expect(refusal(withUids(64100, 65519))).toMatch(/policy\.yaml:7:\d+: smartcard\.levels\.low\.uid: uid 64100 is in systemd's DynamicUser= range[^]*policy\.yaml:8:\d+: smartcard\.levels\.high\.uid: uid 65519 is in systemd's DynamicUser= range/);
    expect(refusal(withUids(60001, 60513))).toMatch(/policy\.yaml:7:\d+: smartcard\.levels\.low\.uid: uid 60001 is in systemd-homed's range[^]*policy\.yaml:8:\d+: smartcard\.levels\.high\.uid: uid 60513 is in systemd-homed's range/);
    // Just outside both ranges, and the defaults: taken (nobody has them here).
    expect(refusal(withUids(61183, 60514))).toBe('accepted');
    expect(refusal(POLICY)).toBe('accepted');
  });
});
