/**
 * The unlock password is checked by the machine's real PAM stack (pamtester → pam_unix), for a
 * real account the test makes: right and wrong passwords, an unknown user, and inputs that must
 * never reach PAM as something else (line breaks, option-like names). The check runs as the
 * account, never as root.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { checkUnlockPassword, pamAuthenticate } from './pamCheck';

describe('PAM password check (real PAM, a real test account)', () => {
  let account: PamTestUser;
  beforeAll(() => {
    account = createPamTestUser();
  });
  afterAll(() => account?.remove());

  it('accepts the right password and refuses a wrong one', async () => {
    expect(await pamAuthenticate(account.service, account.user, account.password, account)).toBe(true);
    expect(await pamAuthenticate(account.service, account.user, `${account.password}x`, account)).toBe(false);
    expect(await pamAuthenticate(account.service, account.user, '', account)).toBe(false);
  });

  it('refuses an unknown user, and a password with a line break (it would be cut short)', async () => {
    expect(await pamAuthenticate(account.service, 'clnosuchuser', account.password, account)).toBe(false);
    expect(await pamAuthenticate(account.service, account.user, `${account.password}\nmore`, account)).toBe(false);
  });

  it("runs as the workstation's user: root's trust (su's pam_rootok) grants nothing, another account's password checks nothing", async () => {
    const other = createPamTestUser();
    try {
      // Debian's su begins with "auth sufficient pam_rootok.so": run as root, any password passed.
      expect(await pamAuthenticate('su', account.user, 'not the password', account)).toBe(false);
      // pam_unix's helper checks only its caller's own password: another user's, right or not, fails.
      expect(await pamAuthenticate(account.service, other.user, other.password, account)).toBe(false);
      await expect(pamAuthenticate(account.service, account.user, account.password, { uid: 0, gid: 0 })).rejects.toThrow(/never runs as root/);
    } finally {
      other.remove();
    }
  });

  it('a service edited since the policy was loaded to grant without a password is refused at the unlock itself', async () => {
    const edited = `${account.service}-edited`;
    writeFileSync(`/etc/pam.d/${edited}`, 'auth sufficient pam_permit.so\naccount required pam_unix.so\n');
    try {
      expect(await pamAuthenticate(edited, account.user, 'anything', account)).toBe(true); // what PAM alone would say
      await expect(checkUnlockPassword(edited, account.user, 'anything', account)).rejects.toThrow(new RegExp(`/etc/pam.d/${edited}:1: pam_permit`));
      expect(await checkUnlockPassword(account.service, account.user, account.password, account)).toBe(true);
    } finally {
      rmSync(`/etc/pam.d/${edited}`, { force: true });
    }
  });

  it('never passes an option-like or path-like name on to PAM', async () => {
    await expect(pamAuthenticate(account.service, '--help', 'x', account)).rejects.toThrow(/not a user name/);
    await expect(pamAuthenticate('../shadow', account.user, 'x', account)).rejects.toThrow(/not a PAM service/);
  });
});
