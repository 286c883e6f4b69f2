/**
 * The syscall filters Cloison's own long-running processes put on themselves (#29), built with
 * the cages' BPF builder (sandbox/seccompFilter.ts). Both are deny lists: what a Node service never
 * calls, so a bug in its parsing cannot reach those kernel paths.
 *
 * - SERVICE_DENIED, for the unprivileged part (the process browsers and cages talk to): the
 *   equivalent of systemd's `SystemCallFilter=@system-service` minus @privileged, for a process
 *   started by hand. No mounts, namespaces, tracing, kernel loading, keyring, clock, swap, reboot,
 *   nor any uid change once it runs as `cloison`.
 * - ROOT_PART_DENIED, for the cage manager and everything it spawns (bwrap, mount, losetup, ip…):
 *   the host administration none of them does. The cages add their own, stricter filter on top.
 */
import { DENIED_SYSCALLS, seccompProgram, type DeniedSyscall } from './seccompFilter';

const deny = (name: string, nr: number, why: string, errno: DeniedSyscall['errno'] = 'EPERM', when?: DeniedSyscall['when']): DeniedSyscall => ({ name, nr, errno, why, ...(when ? { when } : {}) });
/** mknod's type bits other than S_IFIFO (0o010000): S_IFCHR, S_IFBLK, S_IFSOCK, S_IFREG's. */
const NOT_A_FIFO = 0o160000;
const fromCages = (...names: string[]): DeniedSyscall[] =>
  names.map((name) => {
    const rule = DENIED_SYSCALLS.find((r) => r.name === name);
    if (!rule) throw new Error(`no cage rule for ${name}`);
    return rule;
  });

/** Host administration: kernels and modules, power, swap, clock, raw I/O, accounting. */
const HOST_ADMINISTRATION: DeniedSyscall[] = [
  ...fromCages('kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'swapoff', 'iopl', 'ioperm', 'acct', 'syslog', 'uselib'),
  deny('settimeofday', 164, 'setting the clock'),
  deny('clock_settime', 227, 'setting the clock'),
  deny('clock_adjtime', 305, 'adjusting the clock'),
  deny('adjtimex', 159, 'adjusting the clock'),
  deny('vhangup', 153, 'hanging up the terminal'),
  deny('lookup_dcookie', 212, 'obsolete profiling interface'),
  deny('_sysctl', 156, 'obsolete'),
  deny('nfsservctl', 180, 'obsolete'),
  deny('ustat', 136, 'obsolete'),
  deny('sysfs', 139, 'obsolete'),
];

/** The cage manager's filter: what neither it nor bwrap, mount, losetup, mkfs, ip… need. */
export const ROOT_PART_DENIED: readonly DeniedSyscall[] = [
  ...HOST_ADMINISTRATION,
  // Handles reach files around the mount namespaces the cages are built from.
  ...fromCages('open_by_handle_at', 'userfaultfd', 'perf_event_open', 'bpf', 'quotactl', 'quotactl_fd', 'modify_ldt', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'),
  // Reading /proc/<pid>/ns of a cage process needs CAP_SYS_PTRACE, never the calls: no tracing or
  // reading the memory of a cage process (or another root one) from here.
  ...fromCages('ptrace', 'process_vm_readv', 'process_vm_writev', 'pidfd_getfd'),
];

/** The unprivileged part's filter (`SystemCallFilter=@system-service` and `~@privileged` by hand). */
export const SERVICE_DENIED: readonly DeniedSyscall[] = [
  ...HOST_ADMINISTRATION,
  ...fromCages(
    'unshare', 'clone', 'clone3', 'setns',
    'mount', 'umount2', 'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
    'bpf', 'userfaultfd', 'perf_event_open', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    'add_key', 'keyctl', 'request_key',
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd',
    'personality', 'modify_ldt', 'quotactl', 'quotactl_fd', 'open_by_handle_at', 'name_to_handle_at', 'fanotify_init', 'ioctl',
  ),
  // Host names: bwrap sets each cage's in its UTS namespace, so only this part is denied them.
  deny('sethostname', 170, 'the host\'s name'),
  deny('setdomainname', 171, 'the host\'s NIS domain name'),
  deny('process_madvise', 440, 'acting on another process\'s memory'),
  deny('mknod', 133, 'device nodes'),
  deny('mknodat', 259, 'device nodes'),
  // Once it runs as cloison, no uid, gid or capability change: there is nothing to go back to.
  deny('setuid', 105, 'uid change'),
  deny('setgid', 106, 'gid change'),
  deny('setreuid', 113, 'uid change'),
  deny('setregid', 114, 'gid change'),
  deny('setgroups', 116, 'group change'),
  deny('setresuid', 117, 'uid change'),
  deny('setresgid', 119, 'gid change'),
  deny('setfsuid', 122, 'uid change'),
  deny('setfsgid', 123, 'gid change'),
  deny('capset', 126, 'capability change'),
];

/**
 * What bwrap, run by the `cloison` part, calls to build the file sandboxes in a user namespace of
 * its own (files/sandboxUser.ts): each is refused by SERVICE_DENIED, and bwrap stops at the first
 * one refused (seen one by one). The sandbox's command then runs under the cages' filter, which
 * denies them all again.
 */
export const USER_NAMESPACE_SANDBOX_CALLS = ['unshare', 'clone', 'mount', 'umount2', 'pivot_root', 'capset'] as const;

/**
 * The `cloison` part's filter: the service's, less what bwrap needs for a sandbox with no root
 * in it (the hostile document's parser). The part gains only what every account on a kernel
 * allowing unprivileged user namespaces has; the cages' filter still forbids them inside.
 */
export const CLOISON_PART_DENIED: readonly DeniedSyscall[] = [
  ...SERVICE_DENIED.filter((rule) => !(USER_NAMESPACE_SANDBOX_CALLS as readonly string[]).includes(rule.name) && rule.name !== 'mknod' && rule.name !== 'mknodat'),
  // The sandboxes run under this filter too: the pixel helper makes its pages' pipes (mkfifo).
  // A FIFO or a plain file only; any other node type (devices, sockets) stays refused.
  deny('mknod', 133, 'device nodes', 'EPERM', { arg: 1, anyBit: NOT_A_FIFO }),
  deny('mknodat', 259, 'device nodes', 'EPERM', { arg: 2, anyBit: NOT_A_FIFO }),
];

export const serviceSeccompProgram = (): Buffer => seccompProgram(SERVICE_DENIED);
export const cloisonPartSeccompProgram = (): Buffer => seccompProgram(CLOISON_PART_DENIED);
export const rootPartSeccompProgram = (): Buffer => seccompProgram(ROOT_PART_DENIED);
