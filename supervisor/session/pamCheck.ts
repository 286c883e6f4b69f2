/**
 * Checks a user's password against a PAM service with Debian's pamtester: the password goes on
 * its standard input (never a command line, which every local user can read) and PAM's own stack
 * decides (pam_unix, or whatever the site's service file includes: LDAP, smart cards…). Nothing
 * here compares a password itself, logs it or keeps it.
 *
 * pamtester runs as the workstation's user, not as root: modules that trust root (pam_rootok) grant
 * it nothing, and pam_unix checks that user's own password through its set-gid helper
 * (unix_chkpwd), which checks no other account's for a caller that is not root. No capability, in
 * the set or the bounding set, survives the drop; no_new_privs stays off, or the helper could not
 * read the shadow file.
 */
import { spawn } from 'node:child_process';
import { PAM_SERVICE } from '../../shared/policy';
import { requireBinary } from '../system/binaries';
import { unlockStackProblem } from '../policy/pamStack';

/** Whom pamtester runs as: the workstation user's ids. */
export interface PamIdentity {
  uid: number;
  gid: number;
}

/** A login name as useradd accepts it: nothing that could be read as an option or a path. */
const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}\$?$/;

export async function pamAuthenticate(service: string, user: string, password: string, as: PamIdentity, timeoutMs = 20_000): Promise<boolean> {
  if (!PAM_SERVICE.test(service)) throw new Error(`not a PAM service name: ${JSON.stringify(service)}`);
  if (!USER_NAME.test(user)) throw new Error(`not a user name: ${JSON.stringify(user)}`);
  // A conversation reads one line: a password holding a line break or NUL could only be cut short.
  if (/[\n\r\0]/.test(password)) return false;
  if (!Number.isInteger(as.uid) || !Number.isInteger(as.gid) || as.uid <= 0 || as.gid <= 0) throw new Error(`the PAM check never runs as root (uid ${as.uid}, gid ${as.gid})`);
  const pamtester = requireBinary('pamtester');
  const setpriv = requireBinary('setpriv');
  // Already that user (a supervisor run without root, for development): nothing to drop.
  const drop = process.getuid?.() === as.uid ? [] : [setpriv, '--reuid', String(as.uid), '--regid', String(as.gid), '--init-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];
  return new Promise((resolve, reject) => {
    // authenticate, then acct_mgmt: an expired or locked account does not unlock either.
    const [program, ...args] = [...drop, pamtester, '--', service, user, 'authenticate', 'acct_mgmt'];
    const child = spawn(program!, args, { stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`the PAM check did not finish (${signal})`));
      else resolve(code === 0);
    });
    child.stdin.on('error', () => undefined); // pamtester may end before reading (unknown user)
    child.stdin.end(`${password}\n`);
  });
}

/**
 * The unlock's check: the service's stack read again first (it may have been edited since the
 * policy was loaded), refused — an error, which the lock counts as a failure — if it grants
 * without the password; then PAM, as the workstation's user.
 */
export async function checkUnlockPassword(service: string, user: string, password: string, as: PamIdentity): Promise<boolean> {
  const problem = unlockStackProblem(service);
  if (problem) throw new Error(problem);
  return pamAuthenticate(service, user, password, as);
}
