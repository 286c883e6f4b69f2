/**
 * The unlock password is checked by the machine's real PAM stack (pamtester → pam_unix), for a
 * real account the test makes: right and wrong passwords, an unknown user, and inputs that must
 * never reach PAM as something else (line breaks, option-like names).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { pamAuthenticate } from './pamCheck';

describe('PAM password check (real PAM, a real test account)', () => {
  let account: PamTestUser;
  beforeAll(() => {
    account = createPamTestUser();
  });
  afterAll(() => account?.remove());

  it('accepts the right password and refuses a wrong one', async () => {
    expect(await pamAuthenticate(account.service, account.user, account.password)).toBe(true);
    expect(await pamAuthenticate(account.service, account.user, `${account.password}x`)).toBe(false);
    expect(await pamAuthenticate(account.service, account.user, '')).toBe(false);
  });

  it('refuses an unknown user, and a password with a line break (it would be cut short)', async () => {
    expect(await pamAuthenticate(account.service, 'clnosuchuser', account.password)).toBe(false);
    expect(await pamAuthenticate(account.service, account.user, `${account.password}\nmore`)).toBe(false);
  });

  it('never passes an option-like or path-like name on to PAM', async () => {
    await expect(pamAuthenticate(account.service, '--help', 'x')).rejects.toThrow(/not a user name/);
    await expect(pamAuthenticate('../shadow', account.user, 'x')).rejects.toThrow(/not a PAM service/);
  });
});
