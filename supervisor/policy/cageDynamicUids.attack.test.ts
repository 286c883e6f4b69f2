/**
 * Attack (uids-6, design): a cage uid that systemd hands to a service, or to a person, after the
 * policy was read. A cage runs as the uid its level's `cage.uid` names (shared/policy.ts cageUid),
 * a bare number no account has: the project keeps it out of the name service. systemd gives
 * DynamicUser= services uids from 61184–65519 and systemd-homed's homes uids from 60001–60513
 * (systemd's docs/UIDS-GIDS.md), each time taking one getpwuid/getgrgid does not show — and
 * nss-systemd shows a dynamic uid only while its service runs. A cage's uid there is free in
 * systemd's eyes: a service started later (socket-activated ones start when any local user
 * connects) or a home made later may get it, and then owns the cage's processes (ptrace, signals,
 * /proc), its home image's files and its X socket folder. The card proxies' uids were closed the
 * same way (cardProxyDynamicUids.attack.test.ts); the schema still took a cage's (1000–65533).
 *
 * What the administrator should see: a policy that gives a cage such a uid is refused at that
 * uid's line, saying which range it is in and which ranges are free of systemd (its "unused"
 * 60578–61183, where the defaults 61000 + position lie, or below 60000 where no account has it).
 * Not exploitable here (no systemd as PID 1 on this machine): the test is the rule.
 */
import { describe, expect, it } from 'vitest';
import { cageUid, type BwrapCagePolicy } from '../../shared/policy';
import { parsePolicy } from './policyLoader';

/** systemd's DynamicUser= range (pkg-config --variable=dynamicuidmin/dynamicuidmax systemd), then homed's. */
const SYSTEMD_RANGES = [
  { min: 61_184, max: 65_519 },
  { min: 60_001, max: 60_513 },
];
const handedOutBySystemd = (uid: number) => SYSTEMD_RANGES.some(({ min, max }) => uid >= min && uid <= max);

const POLICY = `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;

const withUids = (low: number, high: number) =>
  POLICY.replace('"#00aa00", cage: { driver: bwrap }', `"#00aa00", cage: { driver: bwrap, uid: ${low} }`).replace('"#aa0000", cage: { driver: bwrap }', `"#aa0000", cage: { driver: bwrap, uid: ${high} }`);

function refusal(text: string): string {
  try {
    parsePolicy(text, 'policy.yaml');
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

describe("cage uids against systemd's dynamic users and homes", () => {
  it('the default cage uids (61000 + position, 16 levels at most) are none systemd may hand out', () => {
    const defaults = Array.from({ length: 16 }, (_, i) => cageUid({ driver: 'bwrap' } as BwrapCagePolicy, i));
    expect(defaults.filter(handedOutBySystemd)).toEqual([]);
  });

  it("a policy giving a cage a uid systemd may hand out later is refused, at the uid's line", () => {
    // 62000 (where the tests' cages ran) and 65519: DynamicUser=; 60001 and 60513: systemd-homed.
    expect(refusal(withUids(62000, 65519))).toMatch(/policy\.yaml:3:\d+: levels\[0\]\.cage\.uid: uid 62000 is in systemd's DynamicUser= range \(61184–65519\)[^]*policy\.yaml:4:\d+: levels\[1\]\.cage\.uid: uid 65519 is in systemd's DynamicUser= range/);
    expect(refusal(withUids(60001, 60513))).toMatch(/policy\.yaml:3:\d+: levels\[0\]\.cage\.uid: uid 60001 is in systemd-homed's range \(60001–60513\)[^]*policy\.yaml:4:\d+: levels\[1\]\.cage\.uid: uid 60513 is in systemd-homed's range/);
    // The message says where to go instead.
    expect(refusal(withUids(61184, 61001))).toMatch(/levels\[0\]\.cage\.uid: uid 61184 is in systemd's DynamicUser= range[^\n]*60578–61183[^\n]*below 60000/);
  });

  it('uids just outside both ranges, below 60000, and the defaults are taken', () => {
    expect(refusal(withUids(61183, 60514))).toBe('accepted');
    expect(refusal(withUids(60000, 60577))).toBe('accepted');
    expect(refusal(withUids(20000, 20001))).toBe('accepted'); // no account has them (an account's uid is refused: cageUidAccount.attack.test.ts)
    expect(refusal(POLICY)).toBe('accepted');
  });
});
