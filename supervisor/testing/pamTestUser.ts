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
  /** The PAM service (a file in /etc/pam.d) that checks this user's password. */
  service: string;
  remove(): void;
}

export function createPamTestUser(): PamTestUser {
  const suffix = randomBytes(4).toString('hex');
  const user = `clt${suffix}`;
  const service = `cloison-test-${suffix}`;
  const password = `Pw-${randomBytes(6).toString('base64url')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user]);
  execFileSync('chpasswd', [], { input: `${user}:${password}\n` });
  // nodelay: pam_unix's own pause on failure would only slow the tests; the lock's delay is ours.
  writeFileSync(`/etc/pam.d/${service}`, 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n', { mode: 0o644 });
  return {
    user,
    password,
    service,
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
