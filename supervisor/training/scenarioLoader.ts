/**
 * Reads a training scenario like a policy: YAML checked against its schema, every problem with its
 * file, line and column — and, against the running policy, every level it names must exist (and the
 * drills that run programs in a cage need that level's cage to be one of ours).
 */
import { readFileSync } from 'node:fs';
import type { Policy } from '../../shared/policy';
import { scenarioSchema, type Scenario } from '../../shared/trainingScenario';
import { parseYamlAgainst, PolicyError } from '../policy/policyLoader';

export function loadScenario(file: string, policy: Policy): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError([{ file, line: 0, column: 0, path: '', message: `cannot read the scenario: ${(err as Error).message}` }]);
  }
  return parseScenario(text, file, policy);
}

export function parseScenario(text: string, file: string, policy: Policy): Scenario {
  const bwrap = new Set(policy.levels.filter((l) => l.cage.driver === 'bwrap').map((l) => l.id));
  const known = new Set(policy.levels.map((l) => l.id));
  return parseYamlAgainst(scenarioSchema, text, file, (scenario) =>
    scenario.drills.flatMap((drill, i) => {
      const named: Array<[string, string]> =
        drill.kind === 'spoof' ? [['level', drill.level]] : drill.kind === 'right-level' ? [['expect', drill.expect]] : drill.kind === 'downgrade' ? [['from', drill.from], ['to', drill.to]] : [];
      const problems = named.filter(([, id]) => !known.has(id)).map(([key, id]) => ({ path: ['drills', i, key], message: `no level "${id}" in the running policy` }));
      if (drill.kind === 'usb' && !known.has(drill.expect.level)) problems.push({ path: ['drills', i, 'expect', 'level'], message: `no level "${drill.expect.level}" in the running policy` });
      const cageLevel = drill.kind === 'spoof' ? drill.level : drill.kind === 'downgrade' ? drill.from : null;
      if (cageLevel && known.has(cageLevel) && !bwrap.has(cageLevel)) problems.push({ path: ['drills', i], message: `level "${cageLevel}" is not a bwrap cage: the drill cannot run its programs there` });
      return problems;
    }),
  );
}
