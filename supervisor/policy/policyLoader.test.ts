import { writeFileSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { geometryOf, maxGeometryOf, type BwrapCagePolicy } from '../../shared/policy';
import { loadDefaultPolicy, loadPolicyFile, parsePolicy, PolicyError } from './policyLoader';

const LEVEL = (id: string, rank: number, colour: string, cage = '{ driver: bwrap }') =>
  `  - id: ${id}\n    rank: ${rank}\n    label: { fr: ${id}, en: ${id} }\n    colour: "${colour}"\n    cage: ${cage}\n`;

function problemsOf(text: string): string[] {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as Error).message.split('\n');
  }
  throw new Error('policy was accepted');
}

describe('policy loading', () => {
  it('loads the embedded default: low (nat) and high (none), up ask, down deny', () => {
    const policy = loadDefaultPolicy();
    expect(policy.levels.map((l) => [l.id, l.rank, l.cage.driver === 'bwrap' && l.cage.network])).toEqual([
      ['low', 0, 'nat'],
      ['high', 1, 'none'],
    ]);
    expect(policy.levels[0]?.label).toEqual({ fr: 'Bas', en: 'Low' });
    expect(policy.flows).toEqual({ up: 'ask', down: 'deny', lateral: 'deny' });
    expect(policy.shortcuts.switchLevel).toBe('Ctrl+Alt+PageDown');
  });

  it('fills defaults for a minimal bwrap cage', () => {
    const policy = parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}`, 'p.yaml');
    expect(policy.levels[0]?.cage).toEqual({
      driver: 'bwrap',
      network: 'none',
      geometry: 'auto',
      apps: [{ id: 'xterm', exec: ['xterm'], autostart: true }, { id: 'xedit', exec: ['xedit'], autostart: true }],
      limits: { memoryBytes: 4 * 2 ** 30, tasks: 1024, cpuWeight: 100, homeBytes: 8 * 2 ** 30, tmpfsBytes: 512 * 2 ** 20 },
    });
  });

  it('reads apps as { id, exec, autostart } or as the old command lines, started with the cage', () => {
    const cage = '{ driver: bwrap, apps: [{ id: firefox, exec: [firefox-esr], autostart: true }, { id: calc, exec: [libreoffice, --calc], desktop: libreoffice-calc }, xterm, [xterm, -geometry, 80x24], /usr/bin/xedit] }';
    expect(parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', cage)}`, 'p.yaml').levels[0]?.cage).toMatchObject({
      apps: [
        { id: 'firefox', exec: ['firefox-esr'], autostart: true },
        { id: 'calc', exec: ['libreoffice', '--calc'], autostart: false, desktop: 'libreoffice-calc' },
        { id: 'xterm', exec: ['xterm'], autostart: true },
        { id: 'xterm-2', exec: ['xterm', '-geometry', '80x24'], autostart: true },
        { id: 'xedit', exec: ['/usr/bin/xedit'], autostart: true },
      ],
    });
  });

  it('refuses a bad app with its place: a shell string id, an empty command, a repeated id, an unknown key', () => {
    const problems = (apps: string) => problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', `{ driver: bwrap, apps: ${apps} }`)}`);
    expect(problems('[{ id: "rm -rf", exec: [xterm] }]').join('\n')).toMatch(/policy\.yaml:\d+:\d+: levels\[0\]\.cage\.apps/);
    expect(problems('[{ id: term, exec: [] }]').join('\n')).toMatch(/policy\.yaml:\d+:\d+: levels\[0\]\.cage\.apps/);
    expect(problems('[{ id: term, exec: [xterm] }, { id: term, exec: [xedit] }]')).toEqual([expect.stringMatching(/policy\.yaml:\d+:\d+: levels\[0\]\.cage\.apps\[1\]\.id: app id "term" is used twice in this level/)]);
    expect(problems('[{ id: term, exec: [xterm], icon: /tmp/x.png }]').join('\n')).toMatch(/levels\[0\]\.cage\.apps\[0\]/);
  });

  it('reads cage limits in bytes or with binary units, and refuses too small a limit with its place', () => {
    const cage = '{ driver: bwrap, limits: { memoryBytes: 512MiB, homeBytes: "2 GiB", tmpfsBytes: 16777216, tasks: 256 } }';
    expect(parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', cage)}`, 'p.yaml').levels[0]?.cage).toMatchObject({
      limits: { memoryBytes: 512 * 2 ** 20, homeBytes: 2 * 2 ** 30, tmpfsBytes: 16 * 2 ** 20, tasks: 256, cpuWeight: 100 },
    });
    expect(() => parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, limits: { memoryBytes: 1MiB } }')}`, 'p.yaml')).toThrow(/p\.yaml:\d+:\d+: levels\[0\]\.cage\.limits\.memoryBytes: memoryBytes must be at least 64 MiB/);
    expect(() => parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, limits: { homeBytes: lots } }')}`, 'p.yaml')).toThrow(/homeBytes is a number of bytes or a size such as 512MiB/);
  });

  it('locks after 3 minutes by default; a session section with a bad delay or PAM service is refused with its place', () => {
    const policy = parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}`, 'p.yaml');
    expect(policy.session).toEqual({ lockAfterSeconds: 180, userMayExtendUpTo: 1800, maxFailures: 5, pamService: 'cloison-unlock' });
    expect(policy.shortcuts.lock).toBe('Super+L');
    const base = `version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}`;
    expect(problemsOf(`${base}session:\n  lockAfterSeconds: 600\n  userMayExtendUpTo: 300\n`)).toEqual([expect.stringMatching(/policy\.yaml:10:22: session\.userMayExtendUpTo: userMayExtendUpTo cannot be below lockAfterSeconds/)]);
    expect(problemsOf(`${base}session:\n  pamService: ../shadow\n`)[0]).toMatch(/session\.pamService: pamService is a PAM service name/);
    expect(problemsOf(`${base}session:\n  lockAfterSeconds: 0\n`)[0]).toMatch(/session\.lockAfterSeconds/);
    expect(problemsOf(`${base}session:\n  disabled: true\n`)[0]).toMatch(/session.*disabled/);
  });

  it('refuses a loopback resolver for a nat cage: the cage would reach the host through it', () => {
    expect(() => parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, network: nat, dns: [127.0.0.53] }')}`, 'p.yaml')).toThrow(/levels\[0\]\.cage\.dns\[0\]: a cage's resolver cannot be on the host's loopback/);
  });

  it('accepts a vnc cage on a socket or host:port', () => {
    const policy = parsePolicy(
      `version: 1\nlevels:\n${LEVEL('vm', 0, '#00ff00', '{ driver: vnc, endpoint: { socket: /run/vm.sock } }')}${LEVEL('remote', 1, '#0000ff', '{ driver: vnc, endpoint: { host: 10.1.2.3, port: 5901 } }')}`,
      'p.yaml',
    );
    expect(policy.levels.map((l) => l.cage)).toEqual([
      { driver: 'vnc', endpoint: { socket: '/run/vm.sock' } },
      { driver: 'vnc', endpoint: { host: '10.1.2.3', port: 5901 } },
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    expect(problemsOf('version: 1\nlevels: [\n  - id: low\n')[0]).toMatch(/^policy\.yaml:3:\d+: YAML: /);
  });

  it('reports a bad colour at the colour line', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, 'green')}`)).toEqual(['policy.yaml:6:13: levels[0].colour: colour is #RRGGBB']);
  });

  it('reports an unknown cage driver', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: docker }')}`)).toEqual([
      'policy.yaml:7:21: levels[0].cage.driver: unknown driver: expected one of "bwrap", "vnc"',
    ]);
  });

  it('reports an unknown network mode', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, network: wifi }')}`)).toEqual([
      'policy.yaml:7:37: levels[0].cage.network: network is "none", "nat", "host", or { mode: wireguard, config: FILE }',
    ]);
  });

  it('reports an unknown key where it is written', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}    colr: 3\n`)).toEqual(['policy.yaml:8:5: levels[0]: unknown key "colr"']);
  });

  it('says which key an unknown one was likely meant as: the schema\'s keys at that place (through the cage\'s union and the apps\' forms), not one already written', () => {
    const level = `  - id: low\n    rank: 0\n    label: { fr: Bas, en: Low }\n    color: "#00ff00"\n    cage: { driver: bwrap, geometery: auto, apps: [{ id: term, exec: [xterm], autostrat: true }] }\n`;
    expect(problemsOf(`version: 1\nlevels:\n${level}`)).toEqual([
      'policy.yaml:3:5: levels[0].colour: is required (string)',
      'policy.yaml:7:79: levels[0].cage.apps[0]: unknown key "autostrat" — did you mean "autostart"?',
      'policy.yaml:7:28: levels[0].cage: unknown key "geometery" — did you mean "geometry"?',
      'policy.yaml:6:5: levels[0]: unknown key "color" — did you mean "colour"?',
    ]);
    // An app written as a map says what is wrong in the map, not only which two forms an app takes.
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, apps: [{ id: web, exec: firefox-esr, autostart: yes }] }')}`)).toEqual([
      'policy.yaml:7:76: levels[0].cage.apps[0].autostart: expected true or false',
    ]);
    // Nothing close, or the close one already written: no guess.
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}    shade: 3\n`)).toEqual(['policy.yaml:8:5: levels[0]: unknown key "shade"']);
  });

  it('reports duplicate level ids and colours', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}${LEVEL('low', 1, '#00FF00')}`)).toEqual([
      'policy.yaml:8:9: levels[1].id: duplicate level id "low" (also levels[0])',
      'policy.yaml:11:13: levels[1].colour: colour #00FF00 is already used by levels[0]: each level needs its own colour',
    ]);
  });

  it('reports a missing required field at its parent', () => {
    expect(problemsOf('version: 1\nlevels:\n  - id: low\n    rank: 0\n    colour: "#00ff00"\n    cage: { driver: bwrap }\n')).toEqual([
      'policy.yaml:3:5: levels[0].label: is required (object)',
    ]);
  });

  it('refuses an oversized geometry and a wrong version', () => {
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, geometry: 9000x9000 }')}`)).toEqual([
      'policy.yaml:7:38: levels[0].cage.geometry: geometry sides must be between 320x200 and 8192x8192',
    ]);
    expect(problemsOf(`version: 2\nlevels:\n${LEVEL('low', 0, '#00ff00')}`)).toEqual(['policy.yaml:1:10: version: must be one of 1']);
  });

  it('reads geometry auto or a fixed size, and a bound for auto, and refuses anything else with its place', () => {
    const cageOf = (cage: string) => parsePolicy(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', cage)}`, 'p.yaml').levels[0]!.cage as BwrapCagePolicy;
    const auto = cageOf('{ driver: bwrap, geometry: auto, maxGeometry: 2560x1440 }');
    expect([auto.geometry, geometryOf(auto), maxGeometryOf(auto)]).toEqual(['auto', { width: 1280, height: 800 }, { width: 2560, height: 1440 }]);
    // An auto cage starts within its bound.
    expect(geometryOf(cageOf('{ driver: bwrap, maxGeometry: 1024x600 }'))).toEqual({ width: 1024, height: 600 });
    expect(maxGeometryOf(cageOf('{ driver: bwrap }'))).toEqual({ width: 3840, height: 2160 });
    expect(geometryOf(cageOf('{ driver: bwrap, geometry: 1024x640 }'))).toEqual({ width: 1024, height: 640 });
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, geometry: big }')}`)).toEqual([
      'policy.yaml:7:38: levels[0].cage.geometry: geometry is auto or WIDTHxHEIGHT, e.g. 1280x800',
    ]);
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, maxGeometry: 100x100 }')}`)).toEqual([
      'policy.yaml:7:41: levels[0].cage.maxGeometry: geometry sides must be between 320x200 and 8192x8192',
    ]);
    expect(problemsOf(`version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00', '{ driver: bwrap, maxGeometry: auto }')}`)).toEqual([
      'policy.yaml:7:41: levels[0].cage.maxGeometry: geometry is WIDTHxHEIGHT, e.g. 1280x800',
    ]);
  });

  it('refuses a policy file that cannot be read, naming it', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(/^\/nonexistent\/policy\.yaml:0:0: cannot read policy/);
  });

  it('loads a valid file from disk', () => {
    const dir = testRoot('cloison-policy-');
    writeFileSync(join(dir, 'p.yaml'), `version: 1\nlevels:\n${LEVEL('low', 0, '#00ff00')}`);
    expect(loadPolicyFile(join(dir, 'p.yaml')).levels[0]?.id).toBe('low');
  });
});
