/**
 * Test helper: a local user's process mapped onto a uid her subordinate range (/etc/subuid) grants
 * her — what newuidmap (setuid root) does for her. Her Python makes a user namespace of its own,
 * says `ready`, and once the map is written becomes uid and gid 0 there: the kernel uid `as`
 * outside. newuidmap is not installed here, so root writes the map it would write ("0 as 1"); then
 * the rest of her script (`then`) runs, with the arguments given (sys.argv[1:]).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { waitFor } from './waitFor';

/** Python: a user namespace of the caller's own, `ready`, then (once root wrote its map) uid and gid 0 in it, then `then`. */
function inOwnUserNamespace(then: string): string {
  return `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0: sys.exit('unshare: errno %d' % ctypes.get_errno())
print('ready', flush=True)
sys.stdin.readline()
os.setgid(0)
os.setuid(0)
${then.trim()}
`;
}

/**
 * Runs `then` (Python) as `user` mapped onto kernel uid `as`, with `args`; `prefix` runs before
 * her setpriv (e.g. unshare binding her view of /etc/subuid), exec'ing it. Answers what it printed
 * once it ended.
 */
export async function runMappedOnto(options: { user: number; as: number; then: string; args: string[]; prefix?: string[] }): Promise<{ out: string; err: string }> {
  const argv = [...(options.prefix ?? []), 'setpriv', `--reuid=${options.user}`, `--regid=${options.user}`, '--clear-groups', '--', '/usr/bin/python3', '-c', inOwnUserNamespace(options.then), ...options.args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise((r) => child.once('close', r));
  try {
    await waitFor(() => out.includes('ready'), `the namespace of uid ${options.user} (${err})`, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    await closed;
    throw e;
  }
  // newuidmap's part: her grant covers `as`, so it writes this map for her.
  writeFileSync(`/proc/${child.pid}/uid_map`, `0 ${options.as} 1\n`);
  writeFileSync(`/proc/${child.pid}/gid_map`, `0 ${options.as} 1\n`);
  child.stdin.end('go\n');
  await closed;
  return { out, err };
}
