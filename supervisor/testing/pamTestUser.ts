/**
 * Test tool: a real account with a known password and a PAM service file of the test's own, so the
 * unlock is checked by the machine's real PAM stack (pam_unix), not by a stand-in. Each call makes
 * its own names; `remove()` deletes both.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export interface PamTestUser {
  user: string;
  password: string;
  /** The PAM service (a file in /etc/pam.d) that checks this user's password: a site's own unlock stack. */
  service: string;
  uid: number;
  gid: number;
  remove(): void;
}

/** A group of the test's own with these members (a shell group the socket admits); `remove()` deletes it. */
export function createTestGroup(members: string[]): { name: string; gid: number; remove(): void } {
  const name = `cltg${randomBytes(4).toString('hex')}`;
  execFileSync('groupadd', ['--system', name]);
  for (const m of members) execFileSync('usermod', ['--append', '--groups', name, m]);
  const gid = Number(execFileSync('getent', ['group', name], { encoding: 'utf8' }).split(':')[2]);
  return { name, gid, remove: () => execFileSync('groupdel', [name], { stdio: 'ignore' }) };
}

export function createPamTestUser(): PamTestUser {
  const suffix = randomBytes(4).toString('hex');
  const user = `clt${suffix}`;
  const service = `cloison-unlock-test-${suffix}`;
  const password = `Pw-${randomBytes(6).toString('base64url')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user]);
  execFileSync('chpasswd', [], { input: `${user}:${password}\n` });
  // nodelay: pam_unix's own pause on failure would only slow the tests; the lock's delay is ours.
  writeFileSync(`/etc/pam.d/${service}`, 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n', { mode: 0o644 });
  const [, , uid, gid] = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':');
  return {
    user,
    password,
    service,
    uid: Number(uid),
    gid: Number(gid),
    remove() {
      rmSync(`/etc/pam.d/${service}`, { force: true });
      try {
        execFileSync('userdel', [user], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
}
