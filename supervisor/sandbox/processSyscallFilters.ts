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

const deny = (name: string, nr: number, why: string, errno: DeniedSyscall['errno'] = 'EPERM'): DeniedSyscall => ({ name, nr, errno, why });
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

export const serviceSeccompProgram = (): Buffer => seccompProgram(SERVICE_DENIED);
export const rootPartSeccompProgram = (): Buffer => seccompProgram(ROOT_PART_DENIED);
