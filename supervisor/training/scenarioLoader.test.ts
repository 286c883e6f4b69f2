/**
 * Scenarios are checked like the policy: the three shipped ones load against the training policy;
 * a malformed one is refused with file:line:column and the path of what is wrong, and nothing
 * starts; a scenario naming a level the policy does not have is refused too.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, PolicyError } from '../policy/policyLoader';
import { loadScenario, parseScenario } from './scenarioLoader';

const policy = loadPolicyFile('training/policy-formation.yaml');

function problems(text: string): string[] {
  try {
    parseScenario(text, 'drill.yaml', policy);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as Error).message.split('\n');
  }
  throw new Error('accepted');
}

describe('training scenarios', () => {
  it('the shipped examples load against the training policy, which allows training', () => {
    expect(policy.training).toBe('allowed');
    const files = readdirSync('training').filter((f) => f.endsWith('.yaml') && !f.startsWith('policy'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(loadScenario(join('training', f), policy).drills.length, f).toBeGreaterThan(0);
  });

  it('a malformed scenario is refused with file:line:column and what is wrong', () => {
    const head = 'version: 1\ntitle: { fr: T, en: T }\ndrills:\n';
    expect(problems(`${head}  - kind: spoof\n    level: high\n    look: glitter\n    card: { fr: a, en: b }\n`)).toEqual(['drill.yaml:6:11: drills[0].look: must be one of "band", "dialog", "lock"']);
    expect(problems(`${head}  - kind: teleport\n`)[0]).toMatch(/^drill\.yaml:4:11: drills\[0\]\.kind/);
    expect(problems(`${head}  - kind: right-level\n    card: { fr: a, en: b }\n    document: { name: ../etc/passwd, content: x }\n    expect: high\n`)[0]).toMatch(/drill\.yaml:6:\d+: drills\[0\]\.document\.name: a file name is/);
    expect(problems(`${head}  - kind: downgrade\n    from: secret\n    to: low\n    content: x\n    card: { fr: a, en: b }\n`)).toEqual(['drill.yaml:5:11: drills[0].from: no level "secret" in the running policy']);
    expect(problems('version: 1\ntitle: { fr: T }\ndrills: []\n')).toEqual(expect.arrayContaining([expect.stringMatching(/title\.en/), expect.stringMatching(/drills/)]));
    expect(problems('version: 1\n  bad: [indent\n')[0]).toMatch(/^drill\.yaml:\d+:\d+: YAML:/);
  });
});
