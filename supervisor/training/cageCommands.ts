/**
 * Runs a command inside a running cage exactly as a cage process runs: in its namespaces, as its
 * uid, with no capability, on its display. For the training drills (the look-alikes a "hostile"
 * cage paints, the documents it receives) — the trainer's own programs, in the trainee's cage.
 */
import { execFile, spawn } from 'node:child_process';
import { requireBinary } from '../cages/binaries';

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

/** Runs `sh -c script` in the cage; resolves with its output and exit code (standard input: `input`). */
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

/** Starts `sh -c script` in the cage and leaves it running (a look-alike on its screen). */
export function startInCage(target: CageTarget, script: string): void {
  const child = spawn(requireBinary('nsenter'), argv(target, script), { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}
