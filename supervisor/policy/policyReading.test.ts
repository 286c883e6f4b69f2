/**
 * The policy as the `cloison` part reads it (#29, policyLoader.ts `PolicyReading`): the WireGuard
 * configurations, root's 0600 with the levels' private keys, are the manager's alone — the part's
 * reading neither opens them nor needs them there; nor does it ask the name service about the
 * cages' and proxies' uids, nor read the unlock's PAM stack: the manager checked the very text at
 * its load (and asks again at each cage's start, each unlock), and the part runs no other
 * (cageManager/policyTextFromManager.ts). The rest is checked as the whole reading checks it (a
 * recipient key, the policy's own problems), at load and at each reload.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError, readPolicyFile } from './policyLoader';
import { RunningPolicy } from './runningPolicy';
import { testRoot } from '../testing/testRoots';
import { standInNameServiceIds } from '../system/accounts';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const onWireguard = (config: string, extra = '') => twoLevelPolicy({ low: bwrapCage({ uid: 58627 }), high: bwrapCage({ uid: 58628 }).replace('network: none', `network: { mode: wireguard, config: ${config} }`) }, extra);
const problems = (read: () => unknown) => {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as Error).message;
  }
  return null;
};

describe("the part's reading of the policy", () => {
  it('does not open a WireGuard configuration: one the part could not read (here: none at all) is the manager\'s to refuse', () => {
    const missing = join(testRoot('cloison-reading-'), 'wg-high.conf');
    expect(problems(() => parsePolicy(onWireguard(missing), 'p.yaml'))).toMatch(/^p\.yaml:\d+:\d+: levels\[1\]\.cage\.network\.config: cannot read the WireGuard configuration .*wg-high\.conf: ENOENT/);
    const policy = parsePolicy(onWireguard(missing), 'p.yaml', 'part');
    expect(policy.levels[1]!.cage).toMatchObject({ network: { mode: 'wireguard', config: missing } });
  });

  it('still checks what the part uses: a recipient key, the policy itself', () => {
    const dir = testRoot('cloison-reading-');
    const missingKey = join(dir, 'officer.asc');
    expect(problems(() => parsePolicy(onWireguard(join(dir, 'wg.conf'), `files:\n  down: { decision: encrypt, recipients: [${missingKey}] }\n`), 'p.yaml', 'part'))).toMatch(/files\.down\.recipients\[0\]: cannot read the recipient key .*officer\.asc: ENOENT/);
    expect(problems(() => parsePolicy(onWireguard(join(dir, 'wg.conf')).replace('version: 1', 'version: 9'), 'p.yaml', 'part'))).toMatch(/^p\.yaml:1:\d+: version/);
  });

  it("asks the name service nothing and reads no PAM stack: those are the manager's checks of the same text", () => {
    const dir = testRoot('cloison-reading-');
    const asked = join(dir, 'asked');
    const lookUp = join(dir, 'nameServiceIds');
    // A name service that says every uid is an account's, and writes down that it was asked.
    writeFileSync(lookUp, `#!/bin/sh\necho "$@" >> ${asked}\ndb=$1; shift; for id in "$@"; do echo "$id held intruder"; done\n`);
    chmodSync(lookUp, 0o755);
    const text = twoLevelPolicy({ low: bwrapCage({ uid: 58627 }), high: bwrapCage({ uid: 58628 }) }, 'session: { pamService: cloison-unlock-partpath10 }\n');
    standInNameServiceIds(lookUp);
    try {
      // The whole reading (the manager's) asks, and refuses: the text never becomes the manager's policy.current.
      expect(problems(() => parsePolicy(text, 'p.yaml'))).toMatch(/levels\[0\]\.cage\.uid: uid 58627 is the intruder account's/);
      expect(readFileSync(asked, 'utf8')).toMatch(/passwd 58627 58628/);
      writeFileSync(asked, '');
      // The part's reading of the same text neither asks nor reads /etc/pam.d (a service that does not exist is the manager's to refuse).
      expect(problems(() => parsePolicy(text, 'p.yaml', 'part'))).toBeNull();
      expect(readFileSync(asked, 'utf8')).toBe('');
    } finally {
      standInNameServiceIds(null);
    }
  });

  it("the part's running policy reloads the manager's text as the part: the file is not read, the configuration not opened", async () => {
    const dir = testRoot('cloison-reading-');
    const file = join(dir, 'p.yaml');
    writeFileSync(file, onWireguard(join(dir, 'wg-gone.conf')));
    const first = readPolicyFile(file, 'part');
    // The manager's text (policy.current), parsed as the part's (cageManager/policyTextFromManager.ts).
    const managerText = onWireguard(join(dir, 'wg-gone.conf')).replace('label: { fr: Haut', 'label: { fr: Très haut');
    const store = new RunningPolicy(first.policy, first.text, file, async () => ({ policy: parsePolicy(managerText, file, 'part'), text: managerText }));
    writeFileSync(file, 'not what the manager runs');
    expect((await store.readSource()).text).toContain('Très haut');
    // The whole reading (root's) refuses the same file.
    writeFileSync(file, managerText);
    // (asynchronously: the name service is asked without stopping the process, ownIds.ts)
    await expect(Promise.resolve(new RunningPolicy(first.policy, first.text, file).readSource())).rejects.toThrow(/wg-gone\.conf: ENOENT/);
  });
});
