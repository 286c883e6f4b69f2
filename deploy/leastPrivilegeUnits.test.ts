/**
 * The units of Cloison's root part (the cage manager's, enabled by the package, and the single root
 * supervisor's) are accepted by systemd; systemd's own measure of their exposure stays where the
 * README says; the root units hold exactly the capabilities the supervisor keeps when started by
 * hand, and their system call deny list covers what it denies itself. The unprivileged cloison part
 * has no unit: the manager starts it as its child, on the channel it hands descriptors over, and
 * the part restricts itself (supervisor/processPrivileges.test.ts checks the running one).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_PART_CAPABILITY_NAMES } from '../supervisor/sandbox/rootPartRestriction';
import { ROOT_PART_DENIED } from '../supervisor/sandbox/processSyscallFilters';
import { WHY_ROOT } from '../supervisor/cageManager/requests';
import { removeTestRoot, testRoot } from '../supervisor/testing/testRoots';

const ROOT_UNITS = ['deploy/systemd/cloison-supervisor.service', 'deploy/systemd/cloison-cage-manager.service'];

function exposure(unit: string): number {
  const out = execFileSync('systemd-analyze', ['security', '--offline=yes', unit], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return Number(/Overall exposure level for \S+: ([\d.]+)/.exec(out)![1]);
}

function settings(unit: string, key: string): string[] {
  return readFileSync(unit, 'utf8').split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

/** Every syscall a filter group names, groups inside groups included (systemd-analyze syscall-filter). */
function expandGroup(group: string, seen = new Set<string>()): string[] {
  if (seen.has(group)) return [];
  seen.add(group);
  const out = execFileSync('systemd-analyze', ['syscall-filter', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.split('\n').slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).flatMap((name) => (name.startsWith('@') ? expandGroup(name, seen) : [name]));
}

describe('least-privilege units', () => {
  for (const unit of ROOT_UNITS) {
    it(`${unit} passes systemd-analyze verify`, () => {
      expect(() => execFileSync('systemd-analyze', ['verify', '--man=no', unit], { stdio: ['ignore', 'pipe', 'pipe'] })).not.toThrow();
    });
  }

  it('exposure: each root unit at most 6.6 (8.7 before the bounding set and the filter)', () => {
    for (const unit of ROOT_UNITS) expect(exposure(unit), unit).toBeLessThanOrEqual(6.6);
  });

  for (const unit of ROOT_UNITS) {
    it(`${unit}: the bounding set is the supervisor's own, the deny list covers its own filter, no mount namespace`, () => {
      expect(settings(unit, 'CapabilityBoundingSet').join(' ').split(/\s+/).sort()).toEqual([...ROOT_PART_CAPABILITY_NAMES].sort());
      const denied = new Set(settings(unit, 'SystemCallFilter').flatMap((line) => (line.startsWith('~') ? line.slice(1).trim().split(/\s+/) : [])).flatMap((name) => (name.startsWith('@') ? expandGroup(name) : [name])));
      expect(ROOT_PART_DENIED.map((r) => r.name).filter((name) => !denied.has(name))).toEqual([]);
      // bwrap names each cage: a unit that denied it would stop every cage (ProtectHostname= does).
      expect(denied.has('sethostname')).toBe(false);
      // #28: a mount namespace of its own hides the cages' mounts from the next start.
      for (const key of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ReadWritePaths', 'ProtectClock', 'ProtectHostname']) {
        expect(settings(unit, key).filter((v) => v !== 'no'), `${unit} ${key}=`).toEqual([]);
      }
      expect(settings(unit, 'KillMode')).toEqual(['process']);
    });
  }

  it('the README prints each unit\'s exposure as measured, every root request with why, every capability kept', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const unit of ROOT_UNITS) {
      const name = unit.split('/').pop()!;
      expect(readme, name).toMatch(new RegExp(`\\| \`${name.replace('.', '\\.')}\`[^|]*\\| \\*\\*${exposure(unit).toFixed(1)} `));
    }
    for (const [op, { why }] of Object.entries(WHY_ROOT)) expect(readme).toContain(`| \`${op}\` | ${why} |`);
    for (const cap of ROOT_PART_CAPABILITY_NAMES) expect(readme).toContain(`\`${cap}\``);
  });

  it('the cage manager\'s unit gives its part the packaged supervisor unit\'s shell settings, and the manager accepts them', () => {
    // The program's own flags: what follows its script (node's own flags come before it).
    const programWords = (unit: string) => {
      const words = settings(unit, 'ExecStart')[0]!.split(' ');
      return words.slice(words.findIndex((w) => w.endsWith('.js')) + 1);
    };
    const flags = (unit: string) => new Map(programWords(unit).flatMap((word, i, all) => (word.startsWith('--') ? [[word, all[i + 1]?.startsWith('--') ? true : all[i + 1]] as const] : [])));
    const supervisor = flags('deploy/systemd/cloison-supervisor.service');
    const manager = flags('deploy/systemd/cloison-cage-manager.service');
    // What the kiosk's shell and Electron reach, and who may use the sockets: the same after the switch.
    for (const flag of ['--policy', '--state-dir', '--run-dir', '--port', '--allow-origin', '--shell-group', '--admin-group', '--forward-journal']) expect([flag, manager.get(flag)]).toEqual([flag, supervisor.get(flag)]);
    // The manager's own parser takes every flag (an unknown one would stop the unit): with a policy
    // that does not exist, it gets as far as refusing the policy (status 2), not the command line.
    // Its folders are a test's own, never the host's real ones (the manager runs as root here).
    const root = testRoot('cloison-unitflags-');
    const own: Record<string, string> = { '--policy': '/nonexistent/policy.yaml', '--state-dir': join(root, 'state'), '--run-dir': join(root, 'run') };
    const args = [...manager.entries()].flatMap(([flag, value]) => (own[flag] ? [flag, own[flag]] : typeof value === 'string' ? [flag, value] : [flag]));
    expect(args.join(' ')).not.toMatch(/\/var\/lib\/cloison|\/run\/cloison/);
    try {
      const run = spawnSync(process.execPath, ['out/supervisor/cageManager.js', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(run.stderr).toContain('policy refused, nothing started');
      expect(run.status).toBe(2);
    } finally {
      removeTestRoot(root);
    }
  });
});
