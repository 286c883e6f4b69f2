/**
 * Runs the policy's scanner on a staged copy, in a sandbox of its own: /usr, the one staged file
 * read-only (its path appended to the scanner's argv), and only the folders the policy names for it
 * (`scannerBinds`, read-only: clamd's socket folder and database, say); as a uid of its own for
 * each scan (never nobody: any host process of the same uid could open the sandbox's /proc/<pid>/root
 * and read the document being scanned), no network of
 * its own, under the cages' syscall filter. A scanner that talks to a daemon passes the file as a
 * descriptor (`clamdscan --fdpass`), so the daemon need not see the sandbox's paths.
 */
import { basename } from 'node:path';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { conversionGroup } from './conversionCgroup';
import { asSandboxUser, sandboxUserNamespace } from './sandboxUser';
import { ownUids, SCANNER_UIDS } from '../system/ownUids';

const scannerUid = ownUids(SCANNER_UIDS);
const SCAN_DIR = '/run/cloison-scan';
/** The scanner's memory in the cloison part (the policy names none): within what the part's limit leaves. */
const SCANNER_MEMORY_BYTES = 1024 * 2 ** 20;

export interface ScanVerdict {
  clean: boolean;
  /** The scanner's first lines, for the reason shown to the user (a verdict, never file content). */
  said: string;
}

/** The folders above a bind, made traversable (bwrap makes the ones it creates 0700). */
function traversable(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    if (dir === '/usr' || dir.startsWith('/usr/') || dir === '/etc' || dir.startsWith('/etc/')) continue;
    out.push('--perms', '0755', '--dir', dir);
  }
  return out;
}

export function scanStaged(staged: string, scanner: readonly string[], binds: readonly string[], timeoutMs = 120_000): Promise<ScanVerdict> {
  const inside = `${SCAN_DIR}/${basename(staged)}`;
  const args = [
    ...sandboxUserNamespace(),
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--ro-bind', '/etc', '/etc',
    ...binds.flatMap((b) => [...traversable(b), '--ro-bind', b, b]),
    '--perms', '0755', '--dir', SCAN_DIR,
    '--ro-bind', staged, inside,
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin:/usr/sbin:/sbin',
    ...asSandboxUser(scannerUid(), null),
    ...scanner, inside,
  ];
  // In the cloison part, a group of its own (conversionCgroup.ts); none as root.
  const group = conversionGroup('scan', { memoryBytes: SCANNER_MEMORY_BYTES, tasks: null });
  let child;
  try {
    child = spawnBwrap(args, { stdio: ['ignore', 'pipe', 'pipe'], ...(group ? { prefix: group.prefix } : {}) });
  } catch (err) {
    group?.remove();
    throw err;
  }
  // A start refused (EAGAIN) closes it with its errno: a file not passed, not the part's end.
  child.on('error', () => undefined);
  let said = '';
  const keep = (d: Buffer) => (said = (said + d.toString('utf8')).slice(0, 4096));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const outOfMemory = group?.outOfMemory() ?? false;
      group?.remove();
      if (code !== 0 && outOfMemory) return resolve({ clean: false, said: 'the scanner ran out of memory' });
      const lines = said.trim().split('\n').slice(0, 3).join(' | ').replaceAll(inside, '<file>');
      resolve({ clean: code === 0, said: lines || (code === null ? 'the scanner timed out' : `exit ${code}`) });
    });
  });
}
