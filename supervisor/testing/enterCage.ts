/**
 * Test tool: enters a running cage from outside (nsenter, then setpriv to the cage's uid with no
 * capability) for tests that hold no supervisor object — the end-to-end tests, whose supervisor is
 * another process. What it runs has the cage's namespaces and uid but NOT its syscall filter nor its
 * control group: an attacker stronger than any cage program, fine for trying to break out, wrong for
 * showing what a cage can do. The supervisor itself never enters a cage this way: it asks the cage's
 * launcher (cages/cageLauncher.ts), and RealCage.sh does too.
 */
import { execFile, spawn } from 'node:child_process';
import { requireBinary } from '../system/binaries';

export interface CageTarget {
  innerPid: number;
  uid: number;
}

function argv(target: CageTarget, script: string): string[] {
  return [
    '-t', String(target.innerPid), '-m', '-p', '-n', '-u', '-i', '--',
    'setpriv', `--reuid=${target.uid}`, `--regid=${target.uid}`, '--groups=5', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    '/usr/bin/env', '-i', 'HOME=/home/cloison', 'PATH=/usr/bin:/bin', 'DISPLAY=:0', 'LANG=C.UTF-8', 'PULSE_SERVER=unix:/tmp/pulse/native', '/bin/sh', '-c', script,
  ];
}

/** Runs `sh -c script` in the cage's namespaces as its uid; resolves with its output and exit code (standard input: `input`). */
export function runInCage(target: CageTarget, script: string, input?: string, timeoutMs = 10_000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(requireBinary('nsenter'), argv(target, script), { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** Starts `sh -c script` in the cage's namespaces as its uid and leaves it running (for cages no supervisor holds). */
export function startInCage(target: CageTarget, script: string): void {
  const child = spawn(requireBinary('nsenter'), argv(target, script), { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}
