/**
 * The .deb's maintainer scripts restart the cage manager, never the cages: an upgrade stops nothing
 * before (prerm) and restarts the manager only if it runs (postinst try-restart; the unit's
 * KillMode=process and --keep-cages-on-stop leave the cages to the new manager, which re-adopts
 * them); a fresh install enables and starts the manager; an upgrade from an install of the root
 * supervisor's unit (before the split, #29) enables the manager in its place and, if the supervisor
 * ran, starts it, which stops the supervisor first and leaves its cages (the units' Conflicts=); an administrator's later
 * choice of the single root supervisor is kept on upgrades; a removal ends whichever runs with its
 * cages (SIGINT).
 *
 * The scripts run for real, with what they call recorded: systemctl, getent, groupadd and ln are
 * programs on PATH that write their arguments down (usermod and install too); "systemd runs" is a /run/systemd/system made in
 * a mount namespace of the test's own (unshare), as is /var/lib (a tmpfs, where a split install
 * leaves its mark), so nothing on this machine changes.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testRoot } from '../supervisor/testing/realCage';

const root = testRoot('cloison-deb-');
const bin = join(root, 'bin');
const calls = join(root, 'calls');
mkdirSync(bin);
for (const program of ['systemctl', 'getent', 'groupadd', 'ln', 'rm', 'usermod', 'install']) {
  // `systemctl is-active` answers "active": the supervisor runs.
  writeFileSync(join(bin, program), `#!/bin/sh\necho "${program} $*" >> ${calls}\n${program === 'systemctl' ? '[ "$1" = is-active ] && [ ! -e ' + join(root, 'stopped') + ' ] && { touch ' + join(root, 'stopped') + '; exit 0; }\n[ "$1" = is-active ] && exit 3\n' : ''}exit 0\n`);
  chmodSync(join(bin, program), 0o755);
}

/** Runs a maintainer script with dpkg's arguments; returns the commands it ran, in order. */
function runScript(script: string, args: string[], systemd = true, splitInstall = false, running = true): string[] {
  rmSync(calls, { force: true });
  rmSync(join(root, 'stopped'), { force: true });
  if (!running) writeFileSync(join(root, 'stopped'), '');
  const env = { PATH: `${bin}:/usr/bin:/bin` };
  const varLib = `mount -t tmpfs none /var/lib && mkdir /var/lib/cloison${splitInstall ? ' && : > /var/lib/cloison/units-split' : ''}`;
  const inner = `${systemd ? 'mount -t tmpfs none /run && mkdir -p /run/systemd/system' : 'mount -t tmpfs none /run'} && ${varLib} && exec sh "$0" "$@"`;
  execFileSync('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', inner, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

const systemctl = (lines: string[]) => lines.filter((l) => l.startsWith('systemctl ')).map((l) => l.slice('systemctl '.length));

describe('.deb maintainer scripts', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('an upgrade stops nothing before the new files are in place (prerm upgrade)', () => {
    expect(runScript('deploy/deb/prerm.sh', ['upgrade', '1.1.0'])).toEqual([]);
    expect(runScript('deploy/deb/prerm.sh', ['failed-upgrade', '1.1.0'])).toEqual([]);
  });

  it('an upgrade restarts the cage manager only if it runs, and never stops the cages (postinst configure OLD)', () => {
    const ran = systemctl(runScript('deploy/deb/postinst.sh', ['configure', '1.0.0'], true, true));
    // try-restart: only the unit that runs (the manager, or the single supervisor an administrator chose).
    expect(ran).toEqual(['daemon-reload', 'try-restart cloison-cage-manager.service', 'try-restart cloison-supervisor.service']);
    // The restart is the manager's alone: the unit stops its main process, which leaves the cages.
    for (const name of ['cloison-cage-manager.service', 'cloison-supervisor.service']) {
      const unit = readFileSync(`deploy/systemd/${name}`, 'utf8');
      expect(unit).toMatch(/^KillMode=process$/m);
      expect(unit).toMatch(/^ExecStart=.* --keep-cages-on-stop( |$)/m);
    }
  });

  it('an upgrade from a root-supervisor install enables the cage manager in its place and starts it, which stops the supervisor first, leaving its cages (postinst configure OLD)', () => {
    const ran = runScript('deploy/deb/postinst.sh', ['configure', '0.1.0']);
    expect(systemctl(ran)).toEqual(['daemon-reload', 'is-active --quiet cloison-supervisor.service', 'disable cloison-supervisor.service', 'enable cloison-cage-manager.service', 'start cloison-cage-manager.service']);
    // A supervisor an administrator had stopped: the manager enabled in its place, not started.
    expect(systemctl(runScript('deploy/deb/postinst.sh', ['configure', '0.1.0'], true, false, false))).toEqual(['daemon-reload', 'is-active --quiet cloison-supervisor.service', 'disable cloison-supervisor.service', 'enable cloison-cage-manager.service']);
    // Starting the manager stops the supervisor (SIGTERM with --keep-cages-on-stop: the cages stay) before it starts.
    expect(readFileSync('deploy/systemd/cloison-cage-manager.service', 'utf8')).toMatch(/^Conflicts=cloison-supervisor\.service$/m);
    expect(readFileSync('deploy/systemd/cloison-supervisor.service', 'utf8')).toMatch(/^Conflicts=cloison-cage-manager\.service$/m);
  });

  it('the cloison account joins the shell\'s and administrators\' groups, its state folder its own (postinst configure)', () => {
    const ran = runScript('deploy/deb/postinst.sh', ['configure']);
    expect(ran).toContain('usermod --append --groups cloison-shell,cloison-admin cloison');
    expect(ran).toContain('install -d -o cloison -g cloison -m 0700 /var/lib/cloison-broker');
    // The groups are made (when missing) before the account joins them.
    const joined = ran.indexOf('usermod --append --groups cloison-shell,cloison-admin cloison');
    for (const group of ['cloison-shell', 'cloison-admin']) expect(ran.indexOf(`getent group ${group}`)).toBeLessThan(joined);
  });

  it('a fresh install enables and starts the cage manager, not the root supervisor (postinst configure)', () => {
    expect(systemctl(runScript('deploy/deb/postinst.sh', ['configure']))).toEqual(['daemon-reload', 'disable cloison-supervisor.service', 'enable cloison-cage-manager.service', 'start cloison-cage-manager.service']);
  });

  it('a removal ends the cage manager with its cages, and waits for it (prerm remove)', () => {
    // The fake answers "active" once: the manager runs, the single supervisor does not.
    expect(systemctl(runScript('deploy/deb/prerm.sh', ['remove']))).toEqual([
      'disable cloison-cage-manager.service',
      'is-active --quiet cloison-cage-manager.service',
      'kill --kill-whom=main --signal=SIGINT cloison-cage-manager.service',
      'is-active --quiet cloison-cage-manager.service',
      'disable cloison-supervisor.service',
      'is-active --quiet cloison-supervisor.service',
    ]);
  });

  it('a purge removes the manager\'s state and the cloison part\'s (its journal, its keys); a removal keeps both (postrm)', () => {
    expect(runScript('deploy/deb/postrm.sh', ['purge'])).toContain('rm -rf /var/lib/cloison /var/lib/cloison-broker');
    expect(runScript('deploy/deb/postrm.sh', ['remove']).filter((l) => l.includes('/var/lib/'))).toEqual([]);
  });

  it('without systemd, no script calls systemctl', () => {
    expect(systemctl(runScript('deploy/deb/postinst.sh', ['configure', '1.0.0'], false))).toEqual([]);
    expect(systemctl(runScript('deploy/deb/prerm.sh', ['remove'], false))).toEqual([]);
  });
});
