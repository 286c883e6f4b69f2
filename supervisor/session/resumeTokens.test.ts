/**
 * A shell's resume token outlives the supervisor: the next one (after a crash, a restart, an
 * upgrade) resumes the same session from the root-only file, which holds no token; a token expires
 * once its shell has been away too long. A token file someone else could have written — another
 * user's or a cage's, one with other bits, a link, one in a folder others can write — is ignored.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShellLaunches } from '../host/shellLaunches';
import { testRoot } from '../testing/realCage';
import { ResumeTokenFile, tokenHash } from './resumeTokens';

const CAGE_UID = 58636;

describe('shell resume tokens across supervisor restarts', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const stateDir = () => {
    const root = testRoot('cloison-rt-');
    roots.push(root);
    return root;
  };

  it('a shell connected when the supervisor died resumes its session with the next one, once', () => {
    const dir = stateDir();
    const file = join(dir, 'shell-resume.json');
    const first = new ShellLaunches({ store: new ResumeTokenFile(file) });
    const admitted = first.launch(first.issue())!;
    first.connected(admitted.session, () => undefined); // connected when the supervisor is killed: never released
    // Root's, 0600; the token itself is nowhere in it.
    expect(readFileSync(file, 'utf8')).not.toContain(admitted.resume);
    expect(readFileSync(file, 'utf8')).toContain(tokenHash(admitted.resume));

    const next = new ShellLaunches({ store: new ResumeTokenFile(file) });
    const resumed = next.resume(admitted.resume);
    expect(resumed?.session).toBe(admitted.session);
    // Spent: a copy of the old token gets nothing, from this supervisor or the one after.
    expect(next.resume(admitted.resume)).toBeNull();
    expect(new ShellLaunches({ store: new ResumeTokenFile(file) }).resume(admitted.resume)).toBeNull();
    // The new token works with the supervisor after that one too.
    expect(new ShellLaunches({ store: new ResumeTokenFile(file) }).resume(resumed!.resume)?.session).toBe(admitted.session);
  });

  it('a token expires once its shell has been away longer than its lifetime', () => {
    const file = join(stateDir(), 'shell-resume.json');
    let now = 1_000_000;
    const first = new ShellLaunches({ store: new ResumeTokenFile(file), resumeTtlMs: 60_000, now: () => now });
    const admitted = first.launch(first.issue())!;
    const release = first.connected(admitted.session, () => undefined);
    release(); // the shell went away
    now += 61_000;
    expect(new ShellLaunches({ store: new ResumeTokenFile(file), resumeTtlMs: 60_000, now: () => now }).resume(admitted.resume)).toBeNull();
  });

  /** A well-formed file naming a token the attacker knows, for a session of its choosing. */
  const planted = (file: string) => writeFileSync(file, JSON.stringify({ version: 1, tokens: [{ hash: tokenHash('attacker-token'), session: 'chosen', expires: null }] }), { mode: 0o600 });

  it('takes a well-formed root-only file (the control for the attacks below)', () => {
    const file = join(stateDir(), 'shell-resume.json');
    planted(file);
    expect(new ShellLaunches({ store: new ResumeTokenFile(file) }).resume('attacker-token')?.session).toBe('chosen');
  });

  it.each([
    ['written by a cage user', (file: string) => (planted(file), chownSync(file, CAGE_UID, CAGE_UID)), /belongs to uid 58636/],
    ['readable by others', (file: string) => (planted(file), chmodSync(file, 0o644)), /mode is 644/],
    ['a link to a file elsewhere', (file: string) => {
      const elsewhere = join(file, '..', 'sub');
      mkdirSync(elsewhere);
      planted(join(elsewhere, 'x.json'));
      symlinkSync(join(elsewhere, 'x.json'), file);
    }, /symbolic link/],
    ['in a folder others can write', (file: string) => (planted(file), chmodSync(join(file, '..'), 0o777)), /folder is not root's alone/],
  ])('ignores a token file %s, and says why', (_what, plant, why) => {
    const file = join(stateDir(), 'shell-resume.json');
    plant(file);
    const logged: Array<Record<string, unknown> | undefined> = [];
    const launches = new ShellLaunches({ store: new ResumeTokenFile(file, (_msg, fields) => logged.push(fields)) });
    expect(launches.resume('attacker-token')).toBeNull();
    expect(String(logged[0]?.reason)).toMatch(why);
  });
});
