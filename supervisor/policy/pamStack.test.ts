/**
 * The unlock's PAM stack is read before it is trusted: Debian's own su, runuser, chfn and chsh
 * (pam_rootok) and stacks that end on pam_permit with no deny in the way are found, with their
 * file and line; the package's cloison-unlock over Debian's common-auth, whose pam_permit only
 * runs after pam_unix succeeded, passes. A policy naming a granting service is refused at load.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy } from './policyLoader';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { authStack, unlockStackProblem } from './pamStack';

const dir = mkdtempSync(join(tmpdir(), 'cloison-pam-'));
for (const f of ['common-auth', 'common-account', 'common-password', 'common-session', 'other']) copyFileSync(join('/etc/pam.d', f), join(dir, f));
copyFileSync('deploy/pam/cloison-unlock', join(dir, 'cloison-unlock'));
const service = (name: string, text: string) => (writeFileSync(join(dir, name), text), name);

describe('reading an unlock PAM stack', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds Debian's root-trusting services on this machine, at their pam_rootok line", () => {
    for (const name of ['su', 'runuser', 'chfn', 'chsh'].filter((n) => existsSync(`/etc/pam.d/${n}`))) {
      const line = readFileSync(`/etc/pam.d/${name}`, 'utf8').split('\n').findIndex((l) => /^\s*auth\s+sufficient\s+pam_rootok\.so/.test(l)) + 1;
      expect(line, name).toBeGreaterThan(0);
      expect(unlockStackProblem(name)).toContain(`/etc/pam.d/${name}:${line}: pam_rootok.so`);
    }
  });

  it("passes the package's service over Debian's common-auth, and login", () => {
    expect(authStack('cloison-unlock', dir).map((l) => l.module)).toEqual(expect.arrayContaining(['pam_unix', 'pam_deny', 'pam_permit']));
    expect(unlockStackProblem('cloison-unlock', dir)).toBeNull();
    expect(unlockStackProblem('login')).toBeNull();
    // No file of its own: libpam uses "other", and so does the check.
    expect(unlockStackProblem('cloison-unlock-none', dir)).toBeNull();
  });

  it('finds what grants without a password, wherever it hides', () => {
    const permit = service('cloison-unlock-permit', '# a site stack\nauth sufficient pam_permit.so\n@include common-auth\n');
    expect(unlockStackProblem(permit, dir)).toContain(`${join(dir, permit)}:2: pam_permit.so`);
    // common-auth without its deny: a failed pam_unix jumps nowhere and pam_permit grants.
    const nodeny = service('cloison-unlock-nodeny', 'auth [success=1 default=ignore] pam_unix.so nullok\nauth required pam_permit.so\n');
    expect(unlockStackProblem(nodeny, dir)).toContain(`${join(dir, nodeny)}:2: pam_permit.so`);
    // A group as a pass: no password asked for its members.
    const wheel = service('cloison-unlock-wheel', 'auth required pam_env.so\nauth sufficient pam_succeed_if.so user ingroup wheel\n@include common-auth\n');
    expect(unlockStackProblem(wheel, dir)).toContain(`${join(dir, wheel)}:2: pam_succeed_if.so`);
    // Included, by a control rather than @include.
    service('site-rootok', 'auth sufficient pam_rootok.so\n');
    const included = service('cloison-unlock-included', 'auth include site-rootok\nauth include common-auth\n');
    expect(unlockStackProblem(included, dir)).toContain(`${join(dir, 'site-rootok')}:1: pam_rootok.so`);
    // What a failed required module already spoiled, a later sufficient success cannot repair.
    const spoiled = service('cloison-unlock-spoiled', 'auth required pam_unix.so\nauth sufficient pam_permit.so\n');
    expect(unlockStackProblem(spoiled, dir)).toBeNull();
  });

  it('refuses a stack it cannot read whole', () => {
    service('loop-a', '@include loop-b\n');
    service('loop-b', '@include loop-a\n');
    expect(unlockStackProblem(service('cloison-unlock-loop', '@include loop-a\n'), dir)).toMatch(/loop/);
    expect(unlockStackProblem(service('cloison-unlock-bad', 'auth [success=ok default=maybe] pam_unix.so\n'), dir)).toMatch(/:1: bad action "maybe"/);
    expect(unlockStackProblem(service('cloison-unlock-empty', 'account required pam_unix.so\n'), dir)).toMatch(/no auth line/);
  });

  it('a policy naming a granting service is refused at load, with the policy line and the PAM line', () => {
    const cages = { low: vncCage('/nonexistent/l.sock'), high: vncCage('/nonexistent/h.sock') };
    expect(() => parsePolicy(twoLevelPolicy(cages, 'session:\n  pamService: su\n'), 'p.yaml')).toThrow(/p\.yaml:14:\d+: session\.pamService: pamService is cloison-unlock/);
    const name = `cloison-unlock-t${randomBytes(4).toString('hex')}`;
    writeFileSync(`/etc/pam.d/${name}`, 'auth sufficient pam_rootok.so\n@include common-auth\n');
    try {
      expect(() => parsePolicy(twoLevelPolicy(cages, `session:\n  pamService: ${name}\n`), 'p.yaml')).toThrow(new RegExp(`p\\.yaml:14:\\d+: session\\.pamService: .*/etc/pam\\.d/${name}:1: pam_rootok\\.so`));
    } finally {
      rmSync(`/etc/pam.d/${name}`, { force: true });
    }
  });
});
