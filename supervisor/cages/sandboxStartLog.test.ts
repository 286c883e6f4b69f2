/**
 * The sandbox set-up's own failures (bwrap's, setpriv's) reach the supervisor's log; nothing a
 * cage program writes does. The attack: a cage program writes a marker to its own stderr, to every
 * stderr in the cage it can open (/proc/N/fd/2: its session's, its launcher's, the sandbox's
 * init's), looks for the file, then ends its session so that the supervisor logs the file's head
 * (an exit the session script does not define). Without the session's `exec 2>/dev/null`, Xvnc's
 * stderr was that file, and the marker reached the supervisor's log.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sandboxStartLogPath } from './sandboxStartLog';
import { launcherShell, startRealCage, type RealCage } from '../testing/realCage';

const MARKER = 'cagetextfortheadminlog';

describe('the sandbox start log', () => {
  const logs: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  let cage: RealCage | null = null;
  afterAll(async () => {
    await cage?.stop();
  });

  it('holds nothing a cage program writes, and the cage cannot find it', async () => {
    cage = await startRealCage({ level: 'low', log: (msg, fields = {}) => logs.push({ msg, fields }) });
    const sh = launcherShell(cage.cage);
    const attack = await sh(`
      echo ${MARKER} >&2; echo ${MARKER} > /proc/self/fd/2
      for f in /proc/[0-9]*/fd/2; do echo ${MARKER} >> "$f" 2>/dev/null && echo "wrote $f -> $(readlink "$f")"; done
      find / -path /proc -prune -o -name 'sandbox-start.log' -print 2>/dev/null
      DISPLAY=:0 setxkbmap -layout ${MARKER} 2>/dev/null
      true`);
    console.log(`what the cage reached: ${JSON.stringify(attack.stdout)}`);
    expect(attack.stdout).not.toMatch(/sandbox-start\.log/);
    // Its session ended by a signal: bwrap's 137, an exit the session script does not define.
    void sh(`for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '^/bin/sh /run/cloison-session.sh' && kill -9 \${p#/proc/}; done`).catch(() => undefined);
    const exit = await cage.cage.exited;
    const { run } = cage.paths;
    cage = null;
    const ended = logs.find((l) => l.msg === 'cage session ended');
    console.log(`logged: ${JSON.stringify(ended)}`);
    expect(readFileSync(sandboxStartLogPath(run), 'utf8')).not.toContain(MARKER);
    expect(ended?.fields).toMatchObject({ level: 'low', code: 137, setUpStderr: expect.any(String) });
    expect(JSON.stringify(logs)).not.toContain(MARKER);
    expect(exit.reason).not.toContain(MARKER);
  }, 60_000);
});
