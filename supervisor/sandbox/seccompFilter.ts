/**
 * The syscall filter every cage and helper sandbox runs under, as a classic BPF program for
 * bubblewrap's `--seccomp FD` (the kernel's struct sock_filter array, x86_64 only).
 *
 * It follows Flatpak's blocklist (flatpak-run.c, setup_seccomp) and adds the interfaces that
 * recent host-root escalations went through: what a cage cannot call, a kernel bug behind it
 * cannot be reached from there (docs/design.md, Cages: syscall filter). Denied calls fail with EPERM
 * (ENOSYS where user space must fall back, as for clone3), so programs see an ordinary refusal.
 * A syscall from another ABI (i386 through int 0x80, x32) cannot be matched by number: the
 * process is killed (i386) or refused (x32) before any rule.
 */

/** One denied call, with why. `when` narrows it to some argument values. */
export interface DeniedSyscall {
  name: string;
  nr: number;
  errno: 'EPERM' | 'ENOSYS';
  why: string;
  when?: ArgumentTest;
}

/**
 * Deny only when a 32-bit argument has any of `mask`'s bits (or, with `orLacking`, lacks that
 * bit), or equals one of `values`.
 */
export type ArgumentTest = { arg: number; anyBit: number; orLacking?: number } | { arg: number; oneOf: number[] } | { arg: number; noneOf: number[] };

/** Namespace flags of clone() (CLONE_NEWNS … CLONE_NEWNET); CLONE_NEWTIME is unshare-only. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

/** The x86_64 numbers (asm/unistd_64.h); a test checks them against the installed header. */
export const DENIED_SYSCALLS: readonly DeniedSyscall[] = [
  // Namespaces: a user namespace gives a cage process every capability over new kernel objects
  // (netfilter, mounts), the way most container escapes start.
  { name: 'unshare', nr: 272, errno: 'EPERM', why: 'no new namespaces (user namespaces above all)' },
  { name: 'clone', nr: 56, errno: 'EPERM', why: 'no new namespaces through clone flags', when: { arg: 0, anyBit: CLONE_NAMESPACE_FLAGS } },
  { name: 'clone3', nr: 435, errno: 'ENOSYS', why: 'its flags sit in memory seccomp cannot read; libc falls back to clone' },
  { name: 'setns', nr: 308, errno: 'EPERM', why: 'no joining other namespaces' },
  // Mounts, old and new API.
  { name: 'mount', nr: 165, errno: 'EPERM', why: 'no mounts' },
  { name: 'umount2', nr: 166, errno: 'EPERM', why: 'no unmounts' },
  { name: 'pivot_root', nr: 155, errno: 'EPERM', why: 'no root changes' },
  { name: 'chroot', nr: 161, errno: 'EPERM', why: 'no root changes' },
  { name: 'open_tree', nr: 428, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'move_mount', nr: 429, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'fsopen', nr: 430, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'fsconfig', nr: 431, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'fsmount', nr: 432, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'fspick', nr: 433, errno: 'ENOSYS', why: 'new mount API' },
  { name: 'mount_setattr', nr: 442, errno: 'ENOSYS', why: 'new mount API' },
  // Kernel subsystems with a long record of privilege escalations and no use on a desktop.
  { name: 'bpf', nr: 321, errno: 'EPERM', why: 'eBPF verifier and maps' },
  { name: 'userfaultfd', nr: 323, errno: 'EPERM', why: 'turns kernel races into reliable exploits' },
  { name: 'perf_event_open', nr: 298, errno: 'EPERM', why: 'profiling from inside; perf has been the source of many CVEs' },
  { name: 'io_uring_setup', nr: 425, errno: 'EPERM', why: 'io_uring bypasses per-call filtering and has had many escalations' },
  { name: 'io_uring_enter', nr: 426, errno: 'EPERM', why: 'io_uring' },
  { name: 'io_uring_register', nr: 427, errno: 'EPERM', why: 'io_uring' },
  { name: 'add_key', nr: 248, errno: 'EPERM', why: 'the kernel keyring is not namespaced' },
  { name: 'keyctl', nr: 250, errno: 'EPERM', why: 'the kernel keyring is not namespaced' },
  { name: 'request_key', nr: 249, errno: 'EPERM', why: 'the kernel keyring is not namespaced' },
  { name: 'ptrace', nr: 101, errno: 'EPERM', why: 'no tracing (Flatpak, outside developer mode)' },
  { name: 'process_vm_readv', nr: 310, errno: 'EPERM', why: 'no reading other processes' },
  { name: 'process_vm_writev', nr: 311, errno: 'EPERM', why: 'no writing other processes' },
  { name: 'kcmp', nr: 312, errno: 'EPERM', why: 'kernel pointer comparisons' },
  { name: 'pidfd_getfd', nr: 438, errno: 'EPERM', why: 'no taking other processes\' files' },
  { name: 'personality', nr: 135, errno: 'EPERM', why: 'no other execution domains (Linux, and the query, only)', when: { arg: 0, noneOf: [0, 0xffffffff] } },
  { name: 'modify_ldt', nr: 154, errno: 'EPERM', why: '16-bit code; a historic source of leaks' },
  { name: 'uselib', nr: 134, errno: 'EPERM', why: 'obsolete' },
  { name: 'syslog', nr: 103, errno: 'EPERM', why: 'the kernel log (dmesg)' },
  { name: 'acct', nr: 163, errno: 'EPERM', why: 'process accounting' },
  { name: 'quotactl', nr: 179, errno: 'EPERM', why: 'quota state' },
  { name: 'quotactl_fd', nr: 443, errno: 'EPERM', why: 'quota state' },
  { name: 'move_pages', nr: 279, errno: 'EPERM', why: 'NUMA memory operations' },
  { name: 'mbind', nr: 237, errno: 'EPERM', why: 'NUMA memory operations' },
  { name: 'get_mempolicy', nr: 239, errno: 'EPERM', why: 'NUMA memory operations' },
  { name: 'set_mempolicy', nr: 238, errno: 'EPERM', why: 'NUMA memory operations' },
  { name: 'migrate_pages', nr: 256, errno: 'EPERM', why: 'NUMA memory operations' },
  { name: 'open_by_handle_at', nr: 304, errno: 'EPERM', why: 'opens files by handle, around the mount namespace' },
  { name: 'name_to_handle_at', nr: 303, errno: 'EPERM', why: 'file handles' },
  { name: 'fanotify_init', nr: 300, errno: 'EPERM', why: 'filesystem-wide watching' },
  { name: 'kexec_load', nr: 246, errno: 'EPERM', why: 'loading kernels' },
  { name: 'kexec_file_load', nr: 320, errno: 'EPERM', why: 'loading kernels' },
  { name: 'init_module', nr: 175, errno: 'EPERM', why: 'loading kernel modules' },
  { name: 'finit_module', nr: 313, errno: 'EPERM', why: 'loading kernel modules' },
  { name: 'delete_module', nr: 176, errno: 'EPERM', why: 'unloading kernel modules' },
  { name: 'swapon', nr: 167, errno: 'EPERM', why: 'host administration' },
  { name: 'swapoff', nr: 168, errno: 'EPERM', why: 'host administration' },
  { name: 'reboot', nr: 169, errno: 'EPERM', why: 'host administration' },
  { name: 'iopl', nr: 172, errno: 'EPERM', why: 'I/O ports' },
  { name: 'ioperm', nr: 173, errno: 'EPERM', why: 'I/O ports' },
  // Terminal input injection: a cage program writing into the tty of a process outside it.
  { name: 'ioctl', nr: 16, errno: 'EPERM', why: 'TIOCSTI and TIOCLINUX fake input to a terminal (CVE-2017-5226, CVE-2023-28100)', when: { arg: 1, oneOf: [TIOCSTI, TIOCLINUX] } },
];

const CLONE_THREAD = 0x00010000;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const F_SETPIPE_SZ = 1031;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * The same filter for a sandbox that must stay one process (threads allowed): no fork, vfork, nor a
 * clone without CLONE_THREAD (glibc's fork and posix_spawn, once clone3's ENOSYS sends them there).
 * Its memory is then bounded whole by a per-process limit (RLIMIT_AS): the scanner's where no
 * control group can be made (scannerSandbox.ts). A new process is refused EPERM, and so are the
 * ways to hold memory outside the address space that no per-process limit counts (memfd, System V
 * shared memory, queues and semaphores, raised socket and pipe buffers); what is left (pipes, sockets at their default
 * buffers) the sandbox's RLIMIT_NOFILE bounds.
 */
export const SINGLE_PROCESS_DENIED_SYSCALLS: readonly DeniedSyscall[] = [
  ...DENIED_SYSCALLS.map((rule) =>
    rule.name === 'clone' ? { ...rule, why: 'no new namespaces, and no new process: threads only', when: { arg: 0, anyBit: CLONE_NAMESPACE_FLAGS, orLacking: CLONE_THREAD } } : rule,
  ),
  { name: 'fork', nr: 57, errno: 'EPERM', why: 'no new process: threads only' },
  { name: 'vfork', nr: 58, errno: 'EPERM', why: 'no new process: threads only' },
  // Memory the kernel keeps for the process outside its address space, which RLIMIT_AS never
  // counts (scannerFallbackUnmapped.attack.test.ts: 500-640 MiB each beside the mapped 1 GiB).
  { name: 'memfd_create', nr: 319, errno: 'EPERM', why: 'a memfd written to holds pages never mapped' },
  { name: 'shmget', nr: 29, errno: 'EPERM', why: 'a System V segment touched then detached stays, unmapped' },
  { name: 'msgget', nr: 68, errno: 'EPERM', why: 'System V queues hold kernel.msgmni × msgmnb bytes, unmapped' },
  // A pipe's buffer raised to fs.pipe-max-size (1 MiB by default, an administrator's choice above).
  { name: 'fcntl', nr: 72, errno: 'EPERM', why: 'no raised pipe buffers (F_SETPIPE_SZ)', when: { arg: 1, oneOf: [F_SETPIPE_SZ] } },
  { name: 'semget', nr: 64, errno: 'EPERM', why: 'System V semaphore sets: ~3 MiB of kernel memory a set of 32000, kernel.sem allowing 32000 sets' },
  // Any level: at SOL_SOCKET these raise a socket's buffers to net.core.wmem_max (4 MiB a socket
  // here); the same numbers elsewhere (IP_RECVOPTS, TCP_WINDOW_CLAMP…) are nothing a scanner needs.
  { name: 'setsockopt', nr: 54, errno: 'EPERM', why: 'no raised socket buffers (SO_SNDBUF, SO_RCVBUF and their FORCE)', when: { arg: 2, oneOf: [SO_SNDBUF, SO_RCVBUF, SO_SNDBUFFORCE, SO_RCVBUFFORCE] } },
];

/**
 * The one-process filter for a sandbox without a network of its own (its loopback only): no TCP or
 * UDP socket either, whose buffers grow on their own (3.7 MiB a direction a connection here).
 * With the host's network (the policy's scannerNetwork), TCP stays: RLIMIT_NOFILE bounds it.
 */
export const SINGLE_PROCESS_NO_NETWORK_DENIED_SYSCALLS: readonly DeniedSyscall[] = [
  ...SINGLE_PROCESS_DENIED_SYSCALLS,
  { name: 'socket', nr: 41, errno: 'EPERM', why: 'no IP socket on a loopback of its own (buffers outside the address space)', when: { arg: 0, oneOf: [AF_INET, AF_INET6] } },
];

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

// Classic BPF opcodes.
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** seccomp_data offsets: nr, arch, then six 64-bit arguments (low half first on x86_64). */
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;

interface Insn {
  code: number;
  k: number;
  jt?: number;
  jf?: number;
}

/** The filter as bytes, ready to be written to the fd given to bwrap's --seccomp. */
export function seccompProgram(denied: readonly DeniedSyscall[] = DENIED_SYSCALLS): Buffer {
  const insns: Insn[] = [
    { code: LD_W_ABS, k: OFFSET_ARCH },
    { code: JEQ_K, k: AUDIT_ARCH_X86_64, jt: 1, jf: 0 },
    { code: RET_K, k: RET_KILL_PROCESS },
    { code: LD_W_ABS, k: OFFSET_NR },
    { code: JGE_K, k: X32_SYSCALL_BIT, jt: 0, jf: 1 },
    { code: RET_K, k: RET_ERRNO | ERRNO.EPERM },
  ];
  for (const rule of denied) {
    const ret: Insn = { code: RET_K, k: RET_ERRNO | ERRNO[rule.errno] };
    const block = rule.when ? argumentBlock(rule.when, ret) : [ret];
    // Not this call: skip its block. Each block ends in a return, so no other rule runs after it.
    insns.push({ code: JEQ_K, k: rule.nr, jt: 0, jf: block.length }, ...block);
  }
  insns.push({ code: RET_K, k: RET_ALLOW });
  return encode(insns);
}

/** Loads the argument, then returns `deny` or allows; relative jumps only within the block. */
function argumentBlock(test: ArgumentTest, deny: Insn): Insn[] {
  const load: Insn = { code: LD_W_ABS, k: argLow(test.arg) };
  const allow: Insn = { code: RET_K, k: RET_ALLOW };
  // Layout: load, the bits that deny, [the bit that allows,] deny, allow.
  if ('anyBit' in test && test.orLacking !== undefined) return [load, { code: JSET_K, k: test.anyBit, jt: 1, jf: 0 }, { code: JSET_K, k: test.orLacking, jt: 1, jf: 0 }, deny, allow];
  if ('anyBit' in test) return [load, { code: JSET_K, k: test.anyBit, jt: 0, jf: 1 }, deny, allow];
  const values = 'oneOf' in test ? test.oneOf : test.noneOf;
  const matchDenies = 'oneOf' in test;
  // One JEQ per value; a match jumps to the block's matching return, no match falls to the other.
  const checks: Insn[] = values.map((v, i) => {
    const toEnd = values.length - 1 - i; // instructions left after this check
    return { code: JEQ_K, k: v >>> 0, jt: toEnd + 1, jf: 0 };
  });
  // Layout: load, checks…, the no-match return, the match return (a match skips to the last).
  return matchDenies ? [load, ...checks, allow, deny] : [load, ...checks, deny, allow];
}

function encode(insns: Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    const jt = offsetOf(insn.jt ?? 0, i);
    const jf = offsetOf(insn.jf ?? 0, i);
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}

function offsetOf(target: number, at: number): number {
  if (target < 0 || target > 255) throw new Error(`jump of ${target} at ${at} does not fit classic BPF`);
  return target;
}
