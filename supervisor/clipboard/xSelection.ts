/**
 * Reads and writes a cage's X selections (CLIPBOARD, PRIMARY) through the cage's own X server, from a helper
 * sandbox: xclip in bubblewrap with nothing but /usr and that cage's X socket directory, no
 * network, with no capability, under the cages' syscall filter. The supervisor itself never speaks
 * X to a cage.
 *
 * Each run is a uid and gid of its own (system/ownUids.ts), never `nobody`: the sandbox's root
 * holds the cage's X socket and the cage's Xvnc asks no cookie, so any host process of the
 * helper's uid could open /proc/<pid>/root/tmp/.X11-unix/X0 (ptrace's read check: same uid,
 * dumpable) and be an X client of that level — keystrokes, screenshots — for as long as a paste's
 * xclip serves (xHelperReach.attack.test.ts). The uid reaches the socket as nobody did: as
 * "others" of the folder (root's 0755) and of the socket (0777, Xvnc's).
 *
 * Reading stops at the size limit: no more than `maxBytes + 1` bytes of a cage's clipboard are
 * ever held. A cage that stalls the selection gets a timeout.
 */
import { SelectionStalled } from './selectionStalled';
import type { ChildProcess } from 'node:child_process';
import { requireBinary } from '../system/binaries';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { ownUids, X_HELPER_UIDS } from '../system/ownUids';

const xHelperUid = ownUids(X_HELPER_UIDS);

/** The helper sandbox around `command` (xclip; the tests run probes in its place), as `uid` (a fresh one by default). */
export function clipboardHelperArgs(x11Dir: string, command: string[], uid = xHelperUid()): string[] {
  return [
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--bind', x11Dir, '/tmp/.X11-unix',
    '--clearenv', '--setenv', 'DISPLAY', ':0', '--setenv', 'PATH', '/usr/bin',
    'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    ...command,
  ];
}

/**
 * The two selections X apps use: CLIPBOARD (an app's explicit Copy) and PRIMARY (whatever is
 * selected: xterm and the Xaw apps copy only there, and paste it by middle click and Shift+Insert).
 */
export type XSelectionName = 'clipboard' | 'primary';

function xclip(x11Dir: string, selection: XSelectionName, xclipArgs: string[], stdio: Array<'pipe' | 'ignore'>): ChildProcess {
  return spawnBwrap(clipboardHelperArgs(x11Dir, ['xclip', '-selection', selection, ...xclipArgs]), { stdio });
}

export type ReadResult = { kind: 'text'; bytes: Buffer; selection?: XSelectionName } | { kind: 'empty' } | { kind: 'too-large'; selection?: XSelectionName };

export function readSelection(x11Dir: string, maxBytes: number, timeoutMs = 3000, selection: XSelectionName = 'clipboard'): Promise<ReadResult> {
  requireBinary('xclip');
  const child = xclip(x11Dir, selection, ['-o', '-t', 'UTF8_STRING'], ['ignore', 'pipe', 'pipe']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (r: ReadResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const timer = setTimeout(() => finish(new SelectionStalled(selection, `within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      size += d.length;
      if (size > maxBytes) return finish({ kind: 'too-large', selection });
      chunks.push(d);
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.on('error', (e) => finish(e));
    child.on('close', (code) => {
      if (code === 0) return finish(size === 0 ? { kind: 'empty' } : { kind: 'text', bytes: Buffer.concat(chunks), selection });
      if (/open display/i.test(stderr)) return finish(new Error("the cage's display is not reachable"));
      finish({ kind: 'empty' }); // no owner, or nothing offered as UTF-8 text
    });
  });
}

/** A selection the helper serves: `owned` stays true until an app in the cage takes the selection. */
export interface SelectionServer {
  readonly owned: boolean;
  stop(): void;
}

/**
 * Makes `text` the cage's CLIPBOARD (or PRIMARY): the helper keeps serving it until an app in the
 * cage takes the selection, or `stop()` is called. Resolves once xclip has taken ownership (or failed).
 */
export async function writeSelection(x11Dir: string, text: string, selection: XSelectionName = 'clipboard'): Promise<SelectionServer> {
  requireBinary('xclip');
  const child = xclip(x11Dir, selection, ['-i', '-t', 'UTF8_STRING', '-quiet'], ['pipe', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
  child.stdin!.end(text);
  // xclip -quiet stays in the foreground once it owns the selection; an early exit is a failure.
  const early = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 300);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
  if (early !== null) throw new Error(`could not set the cage's ${selection} selection (xclip exited ${early}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''})`);
  return {
    // xclip -quiet exits as soon as another client owns the selection.
    get owned() {
      return child.exitCode === null && child.signalCode === null;
    },
    stop: () => void (child.exitCode === null && child.kill('SIGTERM')),
  };
}

/** Runs `command` in the X helper sandbox on that cage's display; rejects with its first line of stderr. */
export function runXHelper(x11Dir: string, command: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnBwrap(clipboardHelperArgs(x11Dir, command), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = signal ? `stopped after ${timeoutMs} ms` : `exited ${code}`;
      reject(new Error(`${command[0]} on the cage's display ${why}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
  });
}
