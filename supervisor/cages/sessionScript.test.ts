/**
 * The cage's session script (bwrapDriver.ts) outside any sandbox, with a stand-in Xvnc: who may run
 * it past its first stage, and how it learns that its Xvnc takes clients (-displayfd on a FIFO, not
 * a poll of the X socket). Run as root, it drops to the cage's uid with setpriv as in a cage.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BwrapDriver, bwrapCagePaths } from './bwrapDriver';
import { TEST_CAGE_LIMITS } from '../testing/testPolicy';

const CAGE_UID = 56_710 + (process.pid % 10);

describe('the cage session script', () => {
  const root = mkdtempSync(join(tmpdir(), 'cloison-session-'));
  chmodSync(root, 0o755);
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const driver = new BwrapDriver({
    level: 'low',
    cage: { driver: 'bwrap', network: 'none', geometry: '800x600', apps: [], limits: TEST_CAGE_LIMITS },
    paths: bwrapCagePaths(join(root, 'state'), join(root, 'run'), 'low'),
    uid: CAGE_UID,
  });
  const script = join(root, 'session.sh');
  // Where a stand-in leaves its mark: writable by the cage's uid and by nobody alike.
  const marks = mkdtempSync(join(root, 'marks-'));
  chmodSync(marks, 0o1777);
  writeFileSync(script, driver.sessionScript(), { mode: 0o755 });
  /** A stand-in Xvnc in front of PATH: it leaves a mark of its run, then does `body`. */
  const standIn = (name: string, body: string) => {
    writeFileSync(join(root, `${name}.sh`), `#!/bin/sh\ntouch ${join(marks, name)}.ran\n${body}\n`, { mode: 0o755 });
    const dir = mkdtempSync(join(root, 'bin-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'Xvnc'), `#!/bin/sh\nexec ${join(root, `${name}.sh`)} "$@"\n`, { mode: 0o755 });
    return { PATH: `${dir}:/usr/bin:/bin`, HOME: root };
  };

  it('ends with 71 as soon as its Xvnc ends before taking clients (its readiness FIFO closed unwritten)', () => {
    const env = standIn('dies', 'exit 1');
    const started = Date.now();
    const r = spawnSync('/bin/sh', [script], { env, encoding: 'utf8', timeout: 10_000 });
    expect(existsSync(join(marks, 'dies.ran'))).toBe(true);
    expect(r.status).toBe(71);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('goes on once its Xvnc writes its display on fd 3, and waits for that Xvnc', () => {
    const env = standIn('ready', 'echo 0 >&3; exec 3>&-; sleep 0.3; exit 0');
    const r = spawnSync('/bin/sh', [script], { env, encoding: 'utf8', timeout: 10_000 });
    expect(existsSync(join(marks, 'ready.ran'))).toBe(true);
    expect(r.status).toBe(72); // "Xvnc exited", after it had taken clients
  });

  it('run by anyone but root or the cage user, starts nothing: setpriv refuses it', () => {
    const env = standIn('stranger', 'echo 0 >&3');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', script], { env, encoding: 'utf8', timeout: 10_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/setpriv/);
    expect(existsSync(join(marks, 'stranger.ran'))).toBe(false);
  });
});
