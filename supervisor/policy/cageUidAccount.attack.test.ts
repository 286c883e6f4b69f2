/**
 * Attack (the administrator's policy, a slip or a copied example): a cage's explicit uid that is an
 * account's — the workstation user's own (1000 on most hosts), the one the shell's Chromium runs as.
 * The card proxy's uid is refused for exactly this (cardProxyAccounts.ts: "that account would own
 * the proxy's workers"), asked of the name service at every reading; a cage's uid is asked nothing
 * (only the schema's 1000–65533 and uniqueness among cages and proxies). The cage then runs as the
 * user: every app a cage starts (its bytes, the level's documents) could ptrace and signal the
 * user's processes — the trusted shell window that draws every level and reads the keyboard — and
 * read and write the user's files; and the user's processes, the cage's home and X server.
 *
 * What an administrator should get: the policy refused at the cage's uid line, as a proxy's is.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipWithReason } from '../testing/skipWithReason';
import { policyRefusal } from '../testing/policyRefusal';

const withLowCageUid = (uid: number) => `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap, uid: ${uid} } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;

const refusal = policyRefusal;

describe("a cage's explicit uid", () => {
  it("is refused when it is a person's account (the workstation user's), as a card proxy's is", (ctx) => {
    const person = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find(([name, , uid]) => name && Number(uid) >= 1000 && Number(uid) <= 65533);
    if (!person) return skipWithReason(ctx, 'no account with a uid between 1000 and 65533 on this host');
    const [name, , uid] = person;
    const said = refusal(withLowCageUid(Number(uid)));
    console.log(`cage uid ${uid} (the ${name} account's): ${said ?? 'TAKEN: the cage would run as that account'}`);
    // The policy's place as every problem gives it (levels[0].cage.uid), the account named.
    expect(said).toMatch(new RegExp(`policy\\.yaml:3:\\d+: levels\\[0\\]\\.cage\\.uid: uid ${uid} is the ${name} account's`));
  });
});
