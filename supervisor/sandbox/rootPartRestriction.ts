/**
 * The root part's own restriction, at its start (#29): it stays root, keeps only the capabilities
 * its root requests need (docs/least-privilege.md), and runs — with every program it spawns —
 * under a filter that denies host administration (processSyscallFilters.ts, ROOT_PART_DENIED).
 * No NoNewPrivs: PAM's set-gid unix_chkpwd must still gain its group.
 *
 * Capabilities are per thread and a Node process has several before this runs, so the bounding set
 * is cut on the main thread and the process executes itself again: a root execve gives every
 * thread of the new image exactly the bounding set (same pid, same descriptors 0-2). The filter
 * then goes to every thread at once (TSYNC); CAP_SYS_ADMIN, which it keeps, allows that without
 * NoNewPrivs.
 */
import koffi from 'koffi';
import { capabilityMask, capabilityNames, dropBoundingCapabilities, installSeccompFilter, privilegeStatus, type CapabilityName } from '../system/selfRestriction';
import { rootPartSeccompProgram } from './processSyscallFilters';

/**
 * What the root part keeps, each for the programs that need it (checked by running their tests
 * under exactly this set: testing/underRootPartRestriction.ts).
 */
export const ROOT_PART_CAPABILITIES: Readonly<Record<string, { cap: CapabilityName; why: string }>> = {
  chown: { cap: 'CAP_CHOWN', why: 'cage homes, socket folders and sound FIFOs given to a level\'s uid' },
  // Not CAP_DAC_READ_SEARCH: DAC_OVERRIDE already reads and searches everything; it would add only
  // open_by_handle_at, the call of the "shocker" container escape.
  dacOverride: { cap: 'CAP_DAC_OVERRIDE', why: 'reading and writing in folders a cage uid owns (its home\'s root, its X socket folder)' },
  fowner: { cap: 'CAP_FOWNER', why: 'chmod and utimes on files a cage uid owns' },
  kill: { cap: 'CAP_KILL', why: 'signals to cage processes (other uids)' },
  setgid: { cap: 'CAP_SETGID', why: 'setpriv and bwrap to a level\'s gid, pamtester and pacat as the workstation user' },
  setuid: { cap: 'CAP_SETUID', why: 'setpriv and bwrap to a level\'s uid, pamtester and pacat as the workstation user' },
  setpcap: { cap: 'CAP_SETPCAP', why: 'setpriv --bounding-set=-all and bwrap dropping their children\'s capabilities' },
  netAdmin: { cap: 'CAP_NET_ADMIN', why: 'WireGuard interfaces (ip, wireguard-go\'s /dev/net/tun), the cage\'s loopback and slirp4netns\'s tap' },
  netBindService: { cap: 'CAP_NET_BIND_SERVICE', why: 'slirp4netns --enable-sandbox keeps it for itself (capset fails without it, and the low cage has no network)' },
  sysChroot: { cap: 'CAP_SYS_CHROOT', why: 'bwrap\'s pivot_root and chroot, setns into a mount namespace (nsenter, slirp4netns), chroot --userspec / to the card listing\'s proxy uid' },
  sysPtrace: { cap: 'CAP_SYS_PTRACE', why: '/proc/<pid>/ns and /proc/<pid>/root of cage processes (peer checks, re-adoption)' },
  sysAdmin: { cap: 'CAP_SYS_ADMIN', why: 'namespaces, mounts, loop devices (losetup), BLKROSET, control groups, seccomp without NoNewPrivs' },
  setfcap: { cap: 'CAP_SETFCAP', why: 'the USB media probe\'s bwrap --unshare-all maps root into its user namespace, which Linux 5.12 and later allow only with it' },
};
export const ROOT_PART_CAPABILITY_NAMES: CapabilityName[] = Object.values(ROOT_PART_CAPABILITIES).map((c) => c.cap);

export type RootPartRestriction = 'not root' | 'restricted';

/**
 * The capabilities this process was restricted to, once it is: kept on the process, not in this
 * module, so that a second copy of it sees it too (the cage manager's entry and its main are two
 * bundles, codeCache/: the main's own call must not install the filter a second time).
 */
const RESTRICTED_TO = Symbol.for('cloison.rootPartRestrictedTo');
const restriction = process as NodeJS.Process & { [RESTRICTED_TO]?: string };

/**
 * Restricts the running root part. Returns 'not root' for a run without root (nothing to keep),
 * 'restricted' once the bounding set, the capabilities of every thread and the filter are in
 * place; the first call as a fuller root does not return (the process runs again from the start).
 */
export function restrictRootPart(keep: readonly CapabilityName[] = ROOT_PART_CAPABILITY_NAMES): RootPartRestriction {
  if (process.getuid?.() !== 0) return 'not root';
  // Once per process: the program's entry (rootPartEntry.ts) restricts before main.ts, which asks again.
  if (restriction[RESTRICTED_TO] === keep.join(' ')) return 'restricted';
  const mask = capabilityMask(keep);
  const before = privilegeStatus();
  if (BigInt(`0x${before.capBnd}`) & ~mask) {
    dropBoundingCapabilities(keep);
    executeAgain();
  }
  const now = privilegeStatus();
  const extra = capabilityNames(now.capEff).filter((name) => !keep.includes(name));
  if (extra.length) throw new Error(`the root part still holds ${extra.join(' ')} after its bounding set was cut`);
  installSeccompFilter(rootPartSeccompProgram());
  restriction[RESTRICTED_TO] = keep.join(' ');
  return 'restricted';
}

/** Node marks its standard streams close-on-exec; a program executed in its place needs them. */
export function keepStandardStreamsOnExec(): void {
  const fcntl = koffi.load('libc.so.6').func('int fcntl(int, int, int)') as unknown as (fd: number, cmd: number, arg: number) => number;
  const F_SETFD = 2;
  for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 0); // a closed one stays closed: nothing to keep
}

/** execve of this same Node with the same options, script, arguments and environment. */
function executeAgain(): never {
  const libc = koffi.load('libc.so.6');
  keepStandardStreamsOnExec();
  const execve = libc.func('int execve(const char *, const char **, const char **)') as unknown as (path: string, argv: (string | null)[], env: (string | null)[]) => number;
  const argv = [process.argv0, ...process.execArgv, ...process.argv.slice(1), null];
  const env = [...Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`), null];
  // SIGHUP ignored across the execve: a handler (managerHupHold.ts's) does not survive it, SIG_IGN
  // does — until Node's own start sets SIGHUP back to its default, before any script runs. That
  // window is closed only by a launcher that cuts the bounding set first (the unit, npm start's
  // rootPartLaunch.mjs): then nothing executes again.
  const SIGHUP = 1;
  const SIG_IGN = 1;
  (libc.func('intptr_t signal(int, intptr_t)') as unknown as (sig: number, handler: number) => number)(SIGHUP, SIG_IGN);
  execve(process.execPath, argv, env);
  throw new Error(`execve(${process.execPath}) to take the smaller bounding set failed: errno ${koffi.errno()}`);
}
