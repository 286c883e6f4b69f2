/**
 * Runs the file helper in a sandbox that sees exactly one cage's home (at /home/cage), as that
 * cage's uid, with no network and no capability, under the cages' syscall filter: whatever links or
 * names a cage planted in its home can reach nothing else, and the supervisor (root) never opens a
 * path a cage controls.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnBwrap } from '../sandbox/bwrapSpawn';

/** The helper ships next to the supervisor (source tree and built bundle alike). */
function helperPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, 'fileHelper.mjs'), join(here, 'files', 'fileHelper.mjs')]) if (existsSync(candidate)) return candidate;
  throw new Error('file helper missing from the installation (fileHelper.mjs)');
}

export interface CageHome {
  /** Host path of the cage's home. */
  home: string;
  uid: number;
}

/** Where a staged copy is bound, read-only, into a writer's sandbox. */
export const STAGED_IN_SANDBOX = '/opt/cloison-staged';

/**
 * The helper sandbox around `command` (the file helper; the tests run probes in its place).
 * `tmpMode`: the sandbox's own /tmp made writable for the helper's uid (its `serve` mode stages
 * what it is given to write there); root's 0755 otherwise. `tmpBytes`: that tmpfs's size.
 */
export function fileHelperSandboxArgs(cage: CageHome, command: (node: string) => string[], staged?: string, tmpMode?: '1777', tmpBytes?: number): string[] {
  const node = process.execPath;
  const binds = node.startsWith('/usr/') ? [] : ['--ro-bind', dirname(node), dirname(node)];
  return [
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    ...binds,
    '--proc', '/proc', '--dev', '/dev', ...(tmpMode ? ['--perms', tmpMode] : []), ...(tmpBytes !== undefined ? ['--size', String(tmpBytes)] : []), '--tmpfs', '/tmp',
    // Directories bwrap creates are 0700: the cage's user must be able to traverse them.
    '--perms', '0755', '--dir', '/opt', '--perms', '0755', '--dir', '/home',
    '--ro-bind', helperPath(), '/opt/cloison-file-helper.mjs',
    ...(staged ? ['--ro-bind', staged, STAGED_IN_SANDBOX] : []),
    '--bind', cage.home, '/home/cage',
    '--chdir', '/home/cage',
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin',
    'setpriv', `--reuid=${cage.uid}`, `--regid=${cage.uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    ...command(node),
  ];
}

/** Room in a serving helper's /tmp beyond what it may stage (rounding, the kernel's own). */
const SERVE_TMP_SLACK = 1024 * 1024;

/**
 * The helper in its `serve` mode: its standard input is its channel (a socket pair's end:
 * fileHelper.mjs). It stages at most `stageBytes` at once, in a /tmp of about that size; `prefix`
 * puts it in a control group first (cageCgroup.ts joinPrefix).
 */
export function spawnServingFileHelper(cage: CageHome, serving: { stageBytes: number; prefix?: string[] }): ChildProcess {
  const args = fileHelperSandboxArgs(cage, (node) => [node, '/opt/cloison-file-helper.mjs', 'serve', String(serving.stageBytes)], undefined, '1777', serving.stageBytes + SERVE_TMP_SLACK);
  return spawnBwrap(args, { stdio: ['pipe', 'ignore', 'ignore'], ...(serving.prefix ? { prefix: serving.prefix } : {}) });
}

/** `staged`: a staged copy (the supervisor's) the helper may read, bound read-only at STAGED_IN_SANDBOX. */
export function spawnFileHelper(cage: CageHome, args: string[], stdio: Array<'pipe' | 'ignore'> = ['ignore', 'pipe', 'pipe'], staged?: string): ChildProcess {
  return spawnBwrap(fileHelperSandboxArgs(cage, (node) => [node, '/opt/cloison-file-helper.mjs', ...args], staged), { stdio });
}

export interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a helper mode that answers with JSON on stdout (list, stat, clean). */
export function runFileHelper(cage: CageHome, args: string[], timeoutMs = 10_000): Promise<HelperResult> {
  const child = spawnFileHelper(cage, args);
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(0, 4 * 1024 * 1024)));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr: stderr.trim() });
    });
  });
}
