/**
 * The draft units of the two parts (#29) are accepted by systemd, and systemd's own measure of
 * their exposure stays where docs/least-privilege.md says: the unprivileged part "OK", the root
 * part below today's single root unit.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function exposure(unit: string): number {
  const out = execFileSync('systemd-analyze', ['security', '--offline=yes', unit], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return Number(/Overall exposure level for \S+: ([\d.]+)/.exec(out)![1]);
}

describe('least-privilege units (drafts)', () => {
  for (const unit of ['deploy/systemd/cloison-cage-manager.service', 'deploy/systemd/cloison-broker.service']) {
    it(`${unit} passes systemd-analyze verify`, () => {
      expect(() => execFileSync('systemd-analyze', ['verify', '--man=no', unit], { stdio: ['ignore', 'pipe', 'pipe'] })).not.toThrow();
    });
  }

  it('exposure: the cloison part at most 2.0 (OK), the cage manager at most 5.5, both below today\'s supervisor unit', () => {
    const today = exposure('deploy/systemd/cloison-supervisor.service');
    const broker = exposure('deploy/systemd/cloison-broker.service');
    const manager = exposure('deploy/systemd/cloison-cage-manager.service');
    expect(broker).toBeLessThanOrEqual(2.0);
    expect(manager).toBeLessThanOrEqual(5.5);
    expect(manager).toBeLessThan(today);
  });
});
