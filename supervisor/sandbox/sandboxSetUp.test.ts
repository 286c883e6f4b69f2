/**
 * A sandbox's network attached from outside once sandboxSetUp says its set-up is over never
 * collides with bwrap's own loopback set-up: bringing `lo` up then (as slirp4netns --configure and
 * the tunnel's set-up do) leaves every sandbox running. Attached as soon as --info-fd names the
 * sandbox, as the cage driver did, some sandboxes died at start (bwrap exit 1, "loopback: Failed
 * RTM_NEWADDR"): counted below for comparison, not asserted (it depends on the machine's timing).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { spawnBwrap } from './bwrapSpawn';
import { sandboxSetUp } from './sandboxSetUp';

const run = promisify(execFile);
const ROUNDS = 40;

/** A sandbox with a network namespace of its own, whose command waits for its stdin to close. */
function startSandbox(): { child: ChildProcess; pid: Promise<number>; exit: Promise<{ code: number | null; stderr: string }> } {
  const usrLinks = ['bin', 'lib', 'lib64'].filter((n) => existsSync(`/usr/${n}`)).flatMap((n) => ['--symlink', `usr/${n}`, `/${n}`]);
  const child = spawnBwrap(['--unshare-net', '--unshare-pid', '--ro-bind', '/usr', '/usr', ...usrLinks, '--proc', '/proc', '--dev', '/dev', '--info-fd', '3', '/bin/sh', '-c', 'read -r x; exit 0'], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  (child.stderr as Readable).on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr: stderr.trim() })));
  const pid = new Promise<number>((resolve, reject) => {
    let text = '';
    (child.stdio[3] as Readable).on('data', (d: Buffer) => {
      text += d.toString();
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void exit.then((e) => reject(new Error(`bwrap ended: ${e.code} ${e.stderr}`)));
  });
  return { child, pid, exit };
}

async function bringLoopbackUp(pid: number): Promise<void> {
  await run('nsenter', ['-t', String(pid), '-n', '--', 'ip', 'link', 'set', 'lo', 'up']).catch(() => undefined); // the sandbox may be gone already
}

async function rounds(waitForSetUp: boolean): Promise<Array<{ code: number | null; stderr: string; setUp: boolean | null }>> {
  const outcomes = [];
  for (let i = 0; i < ROUNDS; i++) {
    const sandbox = startSandbox();
    let setUp: boolean | null = null;
    try {
      const pid = await sandbox.pid;
      if (waitForSetUp) setUp = await sandboxSetUp(pid, sandbox.exit, 10_000);
      await bringLoopbackUp(pid);
    } catch {
      /* ended before naming its pid: its exit says why */
    }
    (sandbox.child.stdin as Writable).end();
    outcomes.push({ ...(await sandbox.exit), setUp });
  }
  return outcomes;
}

describe('sandboxSetUp', () => {
  it('the loopback brought up from outside once the set-up is over: every sandbox runs its command to the end', async () => {
    const unwaited = await rounds(false);
    const failed = unwaited.filter((o) => o.code !== 0);
    console.log(`lo brought up as soon as bwrap named its sandbox: ${failed.length} of ${ROUNDS} sandboxes died (${[...new Set(failed.map((o) => `${o.code} ${o.stderr}`))].join('; ')})`);

    const waited = await rounds(true);
    expect(waited.filter((o) => o.code !== 0 || o.setUp !== true)).toEqual([]);
  }, 120_000);

  it('answers false for a sandbox that ends during its set-up', async () => {
    const child = spawnBwrap(['--unshare-net', '--ro-bind', '/nonexistent-source', '/x', '--info-fd', '3', '/bin/true'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(await sandboxSetUp(child.pid!, exit, 10_000)).toBe(false);
    expect(await exit).toBe(1);
  });
});
