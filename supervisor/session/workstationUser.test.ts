/**
 * The workstation's user is fixed at start from what the administrator configured — never from
 * who connects: --shell-user, else the policy's session.user, else the one user a kiosk unit is
 * enabled for; several kiosk users, an unknown account or root give no user, with the reason.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPamTestUser } from '../testing/pamTestUser';
import { kioskInstanceUsers, resolveWorkstationUser } from './workstationUser';

describe('the workstation user', () => {
  const alice = createPamTestUser();
  const bob = createPamTestUser();
  const systemd = mkdtempSync(join(tmpdir(), 'cloison-systemd-'));
  afterAll(() => {
    alice.remove();
    bob.remove();
    rmSync(systemd, { recursive: true, force: true });
  });
  const enable = (user: string) => {
    mkdirSync(join(systemd, 'graphical.target.wants'), { recursive: true });
    symlinkSync('/usr/lib/systemd/system/cloison-kiosk@.service', join(systemd, 'graphical.target.wants', `cloison-kiosk@${user}.service`));
  };

  it('comes from --shell-user, else session.user, else the one enabled kiosk unit', () => {
    expect(resolveWorkstationUser({ systemdDir: systemd })).toMatchObject({ user: null, problem: expect.stringMatching(/--shell-user NAME.*session\.user.*cloison-kiosk@NAME/) });
    enable(alice.user);
    expect(kioskInstanceUsers(systemd)).toEqual([alice.user]);
    expect(resolveWorkstationUser({ systemdDir: systemd }).user).toEqual({ name: alice.user, uid: alice.uid, gid: alice.gid, source: 'kiosk-unit' });
    expect(resolveWorkstationUser({ policyUser: bob.user, systemdDir: systemd }).user).toMatchObject({ name: bob.user, source: 'policy' });
    expect(resolveWorkstationUser({ shellUser: alice.user, policyUser: bob.user, systemdDir: systemd }).user).toMatchObject({ name: alice.user, source: 'shell-user' });
  });

  it('is nobody, with the reason, when two kiosk users are enabled, the account is unknown or it is root', () => {
    enable(bob.user);
    expect(resolveWorkstationUser({ systemdDir: systemd })).toMatchObject({ user: null, problem: expect.stringContaining('several users') });
    expect(resolveWorkstationUser({ shellUser: 'clnosuchuser' })).toMatchObject({ user: null, problem: expect.stringContaining('has no account') });
    expect(resolveWorkstationUser({ policyUser: 'root' })).toMatchObject({ user: null, problem: expect.stringContaining('cannot be root') });
  });
});
