/**
 * Runs the policy's scanner on a staged copy, in a sandbox of its own: /usr, the one staged file
 * read-only (its path appended to the scanner's argv), and only the folders the policy names for it
 * (`scannerBinds`, read-only: clamd's socket folder and database, say); as a uid of its own for
 * each scan (never nobody: any host process of the same uid could open the sandbox's /proc/<pid>/root
 * and read the document being scanned), under the cages' syscall filter, and with no network
 * unless the policy opts in (`scannerNetwork`, for a scanning daemon on TCP): a scanner a document
 * took over then reaches nothing on the host's network, nor anything listening on its loopback. A scanner that talks to a daemon passes the file as a
 * descriptor (`clamdscan --fdpass`), so the daemon need not see the sandbox's paths.
 *
 * Held in either mode to SCANNER_TASKS tasks and SCANNER_MEMORY_BYTES of memory, by a control group
 * of its own (conversionGroup, the converters' code; as root too), or where none can be made by
 * prlimit (--nproc, --as): a document that takes the scanner over cannot fork the host out of pids
 * nor take its memory (scannerLimits.attack.test.ts). A scan that reaches a limit is not clean,
 * whatever the scanner's exit, and says which limit: the transfer is refused with that reason.
 * RLIMIT_AS bounds one process, not the scan: without a group the scanner stays one process (its
 * threads share its address space), its filter refusing fork, vfork and clone without
 * CLONE_THREAD (SINGLE_PROCESS_DENIED_SYSCALLS), so its 1 GiB is the scan's whole
 * (scannerFallbackTotal.attack.test.ts: 20 children held 900 MiB each at once before). Nor may it
 * hold memory beside its address space, which RLIMIT_AS does not count: memfd, System V shared
 * memory, queues and semaphores, raised socket buffers and (without the network) IP sockets are refused there,
 * and it may open SINGLE_PROCESS_FILES files (scannerFallbackUnmapped.attack.test.ts: 500-640 MiB
 * each way before, beside the mapped 1 GiB). A scanner
 * that forks (a site's shell script) then fails there, unclean; a daemon's client
 * (`clamdscan --fdpass`) or clamscan does not fork. Where the part's own group is bounded (the
 * split on a cgroup v2 host, which gives the scan no group of its own) that group holds the
 * scan's total and the scanner may fork (ownMemoryBound.ts).
 */
import { basename } from 'node:path';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { SINGLE_PROCESS_DENIED_SYSCALLS, SINGLE_PROCESS_NO_NETWORK_DENIED_SYSCALLS } from '../sandbox/seccompFilter';
import { conversionGroup, type ConversionGroup } from './conversionCgroup';
import { ownGroupBoundsMemory } from './ownMemoryBound';
import { asSandboxUser, sandboxUserNamespace } from './sandboxUser';
import { NoOwnUidLeft, ownUids, SCANNER_UIDS } from '../system/ownUids';

const scannerUid = ownUids(SCANNER_UIDS);
const SCAN_DIR = '/run/cloison-scan';
/** The scanner's memory (the policy names none); in the cloison part, within what the part's limit leaves. */
const SCANNER_MEMORY_BYTES = 1024 * 2 ** 20;
/** The scanner's tasks, threads included (the policy names none): the converters' groups' default. */
const SCANNER_TASKS = 64;

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

/**
 * The one-process scanner's open files: each may hold kernel buffers outside its address space (a
 * pipe up to 1 MiB, a socket's default buffers, an IP socket's that grow on their own), which its
 * RLIMIT_AS does not count. A scanner reads one file and talks to at most one daemon.
 */
const SINGLE_PROCESS_FILES = 64;

/**
 * bwrap's arguments for one scan; `held`: a group holds its tasks and memory, else prlimit does;
 * `singleProcess`: nothing bounds the scan's total but that prlimit, which then bounds its files too.
 */
function scanArgs(staged: string, inside: string, scanner: readonly string[], binds: readonly string[], held: boolean, network: boolean, singleProcess: boolean): string[] {
  return [
    ...sandboxUserNamespace(),
    ...(network ? [] : ['--unshare-net']),
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--ro-bind', '/etc', '/etc',
    ...binds.flatMap((b) => [...traversable(b), '--ro-bind', b, b]),
    '--perms', '0755', '--dir', SCAN_DIR,
    '--ro-bind', staged, inside,
    '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin:/usr/sbin:/sbin',
    ...asSandboxUser(scannerUid, held ? null : SCANNER_TASKS),
    ...(held ? [] : ['prlimit', `--as=${SCANNER_MEMORY_BYTES}`, ...(singleProcess ? [`--nofile=${SINGLE_PROCESS_FILES}`] : []), '--']),
    ...scanner, inside,
  ];
}

/** The limit the scan reached, if any (the group's counters): the reason its verdict gives. */
function limitReached(group: ConversionGroup | null): string | null {
  if (group?.outOfMemory()) return 'the scanner ran out of memory';
  if (group?.outOfTasks()) return `the scanner reached its task limit (${SCANNER_TASKS} tasks)`;
  return null;
}

/**
 * `network`: the policy's `scannerNetwork` (the host's network kept, for a daemon on TCP).
 * `noGroup`: as where no control group can be made (tests of that fallback); `ownGroupBounds`:
 * whether the part's own group bounds its memory (read from the host unless given).
 */
export function scanStaged(staged: string, scanner: readonly string[], binds: readonly string[], timeoutMs = 120_000, network = false, options: { noGroup?: boolean; ownGroupBounds?: boolean } = {}): Promise<ScanVerdict> {
  const inside = `${SCAN_DIR}/${basename(staged)}`;
  // A group of its own in either mode (conversionCgroup.ts); without one, prlimit's limits.
  const group = options.noGroup ? null : conversionGroup('scan', { memoryBytes: SCANNER_MEMORY_BYTES, tasks: SCANNER_TASKS }, undefined, { asRootToo: true });
  let child;
  try {
    // No group of its own and none around the part: one process, so that prlimit's per-process
    // 1 GiB is the scan's whole. The part's own bounded group (the split on cgroup v2) holds it.
    const singleProcess = !group && !(options.ownGroupBounds ?? ownGroupBoundsMemory());
    const denied = network ? SINGLE_PROCESS_DENIED_SYSCALLS : SINGLE_PROCESS_NO_NETWORK_DENIED_SYSCALLS;
    child = spawnBwrap(scanArgs(staged, inside, scanner, binds, group !== null, network, singleProcess), { stdio: ['ignore', 'pipe', 'pipe'], ...(group ? { prefix: group.prefix } : {}), ...(singleProcess ? { denied } : {}) });
  } catch (err) {
    group?.remove();
    // No uid of its own left for the scan (ownUids.ts: subordinate grants hold its range): not clean, said why.
    if (err instanceof NoOwnUidLeft) return Promise.resolve({ clean: false, said: err.message });
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
      const limit = limitReached(group);
      group?.remove();
      const lines = said.trim().split('\n').slice(0, 3).join(' | ').replaceAll(inside, '<file>');
      // A limit reached fails the scan whatever the scanner says: a verdict from a scanner cut short is none.
      if (limit) return resolve({ clean: false, said: lines ? `${limit}: ${lines}` : limit });
      resolve({ clean: code === 0, said: lines || (code === null ? 'the scanner timed out' : `exit ${code}`) });
    });
  });
}
