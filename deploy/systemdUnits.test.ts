/**
 * The systemd units Cloison ships are accepted by `systemd-analyze verify` (the binaries they
 * name exist once the package and its dependencies are installed: node, cage).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LONGEST_PART_STOP_MS } from '../supervisor/cageManager/partStopGrace';
import { testRoot } from '../supervisor/testing/testRoots';

const UNITS = ['deploy/systemd/cloison-cage-manager.service', 'deploy/systemd/cloison-supervisor.service', 'deploy/systemd/cloison-kiosk@.service'];

describe('systemd units', () => {
  for (const unit of UNITS) {
    it(`${unit} passes systemd-analyze verify`, () => {
      const target = unit.endsWith('@.service') ? unit.replace('@.service', '@kiosk.service') : unit;
      // A template is verified as an instance: copy it under an instance name.
      const path = target === unit ? unit : join(testRoot('cloison-unit-'), target.split('/').pop()!);
      if (path !== unit) execFileSync('cp', [unit, path]);
      const run = () => execFileSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(run).not.toThrow();
    });
  }

  it('the supervisor units give a stop the time the longest applications\' wait takes, then the cages\' stop (3 s each before SIGKILL, at once)', () => {
    for (const unit of UNITS.slice(0, 2)) {
      const timeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(readFileSync(unit, 'utf8'))?.[1] ?? NaN);
      expect(timeout * 1000, unit).toBeGreaterThanOrEqual(LONGEST_PART_STOP_MS + 3000);
    }
  });

  it('reload sends SIGHUP, which the supervisor handles (supervisor/policyReload.test.ts)', () => {
    expect(readFileSync(UNITS[0]!, 'utf8')).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(existsSync('/usr/bin/node')).toBe(true);
  });
});
