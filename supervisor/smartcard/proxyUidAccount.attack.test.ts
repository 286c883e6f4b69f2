/**
 * Attack (a second local user, or the workstation's user, once a cage has a worker of the card
 * proxy): the policy's check of a level's proxy uid refuses root's, a cage's, the cloison
 * account's and another level's (shared/smartcardPolicy.ts, policyLoader.ts), but accepts the uid
 * of any other account of the host — the workstation user's own, named by `session.user` in the
 * same policy, or another person's login. The proxy and its workers, which hold the level's card
 * sessions (logged in: the PIN given), then run as that account: its owner can ptrace, signal and
 * read the memory of every worker (same uid, no set-uid in between), so take over the high level's
 * signatures without the PIN; and a worker taken over by a cage's bytes is that person — the
 * trusted shell's Chromium runs as the workstation user (scripts/start.mjs).
 *
 * What the policy loader should do: refuse a proxy uid that is any existing account's (the
 * proxy runs as a uid of its own: README, docs/least-privilege.md), as it refuses the cloison one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { skipWithReason } from '../testing/skipWithReason';

const LEVELS = `levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;

/** A login account of this host in the range a proxy uid may take (1000–65533), not cloison's. */
function personAccount(): { name: string; uid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid] = line.split(':');
    const n = Number(uid);
    if (name && name !== 'cloison' && Number.isInteger(n) && n >= 1000 && n <= 65533) return { name, uid: n };
  }
  return null;
}

describe("a level's card proxy given an account's uid", () => {
  it("is refused when the uid is the workstation user's (session.user) or another person's", (ctx) => {
    const person = personAccount();
    if (!person) return skipWithReason(ctx, 'no account with a uid between 1000 and 65533 on this host');
    const policy = `version: 1\n${LEVELS}session:\n  user: ${person.name}\nsmartcard:\n  levels:\n    high: { objects: [high-sign], uid: ${person.uid} }\n`;
    let refusal: string | null = null;
    try {
      parsePolicy(policy, 'policy.yaml');
    } catch (err) {
      refusal = (err as Error).message;
    }
    console.log(`the high card proxy as ${person.name} (uid ${person.uid}), the workstation's user: ${refusal ?? 'accepted'}`);
    expect(refusal).toMatch(/policy\.yaml:\d+.*smartcard\.levels\.high\.uid/);
  });
});
