/**
 * Restrictions the running Node process puts on itself (#29): no new privileges, a seccomp filter
 * on every thread, a smaller capability bounding set, another user. Node has no binding for these;
 * koffi calls libc directly, as for SO_PEERCRED (sandbox/peerCredentials.ts).
 *
 * Linux keeps most of these per thread, and a Node process has several (V8's platform workers,
 * libuv's pool) before any code of ours runs:
 * - the seccomp filter goes to every thread at once (SECCOMP_FILTER_FLAG_TSYNC), and with it the
 *   no-new-privileges bit of the caller — so call setNoNewPrivileges() first;
 * - the user change is process-wide (glibc's setuid runs it on every thread), and the kernel then
 *   empties each thread's permitted and effective sets;
 * - the bounding set and the capability sets changed by capset(2) are the calling thread's: the
 *   main thread, the one that spawns every child. A process that must hold fewer capabilities on
 *   every thread is started with them (sandbox/rootPartRestriction.ts re-executes the root part).
 * Every call throws with errno on failure: a restriction that did not happen must not go unseen.
 */
import koffi from 'koffi';
import { readFileSync } from 'node:fs';

/** Capability numbers (linux/capability.h). */
export const CAPABILITIES = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6,
  CAP_SETUID: 7, CAP_SETPCAP: 8, CAP_LINUX_IMMUTABLE: 9, CAP_NET_BIND_SERVICE: 10, CAP_NET_BROADCAST: 11, CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_IPC_OWNER: 15, CAP_SYS_MODULE: 16, CAP_SYS_RAWIO: 17, CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19, CAP_SYS_PACCT: 20, CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_SYS_NICE: 23, CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25, CAP_SYS_TTY_CONFIG: 26, CAP_MKNOD: 27, CAP_LEASE: 28, CAP_AUDIT_WRITE: 29, CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31, CAP_MAC_OVERRIDE: 32, CAP_MAC_ADMIN: 33, CAP_SYSLOG: 34, CAP_WAKE_ALARM: 35, CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37, CAP_PERFMON: 38, CAP_BPF: 39, CAP_CHECKPOINT_RESTORE: 40,
} as const;
export type CapabilityName = keyof typeof CAPABILITIES;

/** A capability set as /proc shows it (CapEff and the others): one bit per capability number. */
export function capabilityMask(names: readonly CapabilityName[]): bigint {
  return names.reduce((mask, name) => mask | (1n << BigInt(CAPABILITIES[name])), 0n);
}

/** The names of the bits set in a /proc capability field ("000001fffeffffff"). */
export function capabilityNames(hex: string): CapabilityName[] {
  const mask = BigInt(`0x${hex}`);
  return (Object.keys(CAPABILITIES) as CapabilityName[]).filter((name) => (mask >> BigInt(CAPABILITIES[name])) & 1n);
}

const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const SYS_SECCOMP = 317;
const SYS_CAPSET = 126;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

interface Libc {
  prctl: (option: number, a: number, b: number, c: number, d: number) => number;
  seccomp: (nr: number, op: number, flags: number, prog: { len: number; filter: Buffer }) => number;
  capset: (nr: number, header: Buffer, data: Buffer) => number;
  setgroups: (size: number, list: number[]) => number;
  setresgid: (r: number, e: number, s: number) => number;
  setresuid: (r: number, e: number, s: number) => number;
}
let libc: Libc | null = null;

function bindings(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  koffi.struct('cloison_sock_fprog', { len: 'uint16', filter: 'void *' });
  libc = {
    prctl: lib.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)') as unknown as Libc['prctl'],
    // syscall(2) is variadic; on x86_64 integer and pointer arguments travel the same way either way.
    seccomp: lib.func('long syscall(long, long, long, const cloison_sock_fprog *)') as unknown as Libc['seccomp'],
    capset: lib.func('syscall', 'long', ['long', 'void *', 'void *']) as unknown as Libc['capset'],
    setgroups: lib.func('int setgroups(size_t, const uint32_t *)') as unknown as Libc['setgroups'],
    setresgid: lib.func('int setresgid(uint32_t, uint32_t, uint32_t)') as unknown as Libc['setresgid'],
    setresuid: lib.func('int setresuid(uint32_t, uint32_t, uint32_t)') as unknown as Libc['setresuid'],
  };
  return libc;
}

function check(what: string, result: number): void {
  if (result === 0) return;
  const errno = koffi.errno();
  throw new Error(`${what} failed: ${result < 0 ? `errno ${errno}${ERRNO_NAMES[errno] ? ` (${ERRNO_NAMES[errno]})` : ''}` : `returned ${result}`}`);
}
const ERRNO_NAMES: Record<number, string> = { 1: 'EPERM', 3: 'ESRCH', 13: 'EACCES', 14: 'EFAULT', 22: 'EINVAL' };

/** PR_SET_NO_NEW_PRIVS on the calling thread: execve grants nothing more (setuid bits, file caps). */
export function setNoNewPrivileges(): void {
  check('prctl(PR_SET_NO_NEW_PRIVS)', bindings().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

/**
 * Installs a classic BPF program (sandbox/seccompFilter.ts's seccompProgram) on every thread of
 * the process. Needs no new privileges set before, or CAP_SYS_ADMIN. If one thread cannot take it
 * (it runs under a filter that is not an ancestor of ours), the kernel installs it on none and
 * says which thread: that throws.
 */
export function installSeccompFilter(program: Buffer): void {
  if (program.length === 0 || program.length % 8 !== 0) throw new Error(`not a classic BPF program: ${program.length} bytes`);
  const len = program.length / 8;
  if (len > 4096) throw new Error(`seccomp program of ${len} instructions: the kernel takes 4096 at most`);
  const result = bindings().seccomp(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, { len, filter: program });
  if (result > 0) throw new Error(`seccomp(SECCOMP_FILTER_FLAG_TSYNC) failed: thread ${result} could not take the filter; none has it`);
  check('seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)', result);
}

/** Drops from the calling thread's bounding set every capability not in `keep` (needs CAP_SETPCAP). */
export function dropBoundingCapabilities(keep: readonly CapabilityName[]): void {
  const kept = new Set<number>(keep.map((name) => CAPABILITIES[name]));
  const { prctl } = bindings();
  for (let cap = 0; cap < 64; cap++) {
    if (kept.has(cap)) continue;
    const present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present < 0) break; // past the kernel's last capability
    if (present === 1) check(`prctl(PR_CAPBSET_DROP, ${cap})`, prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
  }
}

/**
 * Sets the calling thread's effective, permitted and inheritable sets to `keep` (each must be
 * permitted already) and clears the ambient set. Without `keep`: no capability at all.
 */
export function setCapabilities(keep: readonly CapabilityName[] = []): void {
  const { prctl, capset } = bindings();
  check('prctl(PR_CAP_AMBIENT_CLEAR_ALL)', prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
  const mask = capabilityMask(keep);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  header.writeInt32LE(0, 4); // this thread
  // Two __user_cap_data_struct {effective, permitted, inheritable}: bits 0-31, then 32-63.
  const data = Buffer.alloc(24);
  const low = Number(mask & 0xffffffffn);
  const high = Number(mask >> 32n);
  data.writeUInt32LE(low, 0);
  data.writeUInt32LE(low, 4);
  data.writeUInt32LE(0, 8);
  data.writeUInt32LE(high, 12);
  data.writeUInt32LE(high, 16);
  data.writeUInt32LE(0, 20);
  check('capset', capset(SYS_CAPSET, header, data));
}

export interface Account {
  uid: number;
  gid: number;
  /** Supplementary groups; none when left out. */
  groups?: readonly number[];
}

/**
 * Becomes `account` for good: supplementary groups, then real, effective and saved gid and uid
 * (glibc applies each to every thread), then no capability left in any set of this thread.
 * Checks afterwards that uid 0 cannot be taken back.
 */
export function dropToUser(account: Account): void {
  if (account.uid === 0 || account.gid === 0) throw new Error('dropToUser: the target account is root');
  const c = bindings();
  const groups = [...(account.groups ?? [])];
  // Started as that account already (a unit's User=): nothing to change, and no right to.
  if (!alreadyAccount(account, groups)) {
    check('setgroups', c.setgroups(groups.length, groups));
    check('setresgid', c.setresgid(account.gid, account.gid, account.gid));
    check('setresuid', c.setresuid(account.uid, account.uid, account.uid));
  }
  setCapabilities([]);
  if (c.setresuid(0, 0, 0) === 0) throw new Error('dropToUser: uid 0 could be taken back');
}

function alreadyAccount(account: Account, groups: number[]): boolean {
  const text = readFileSync('/proc/self/status', 'utf8');
  const ids = (name: string) => (new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
  const same = (a: number[], b: number[]) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
  return ids('Uid').every((id) => id === account.uid) && ids('Gid').every((id) => id === account.gid) && same(ids('Groups'), groups);
}

/** What /proc/<pid>/status says of a process's privileges (its main thread's). */
export interface PrivilegeStatus {
  uid: number;
  gid: number;
  groups: number[];
  capInh: string;
  capPrm: string;
  capEff: string;
  capBnd: string;
  capAmb: string;
  noNewPrivs: 0 | 1;
  /** 0 none, 1 strict, 2 filter. */
  seccomp: 0 | 1 | 2;
  seccompFilters: number;
}

export function privilegeStatus(pid: number | 'self' = 'self', thread?: number): PrivilegeStatus {
  const text = readFileSync(thread === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${thread}/status`, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return m[1]!.trim();
  };
  const optional = (name: string) => (new RegExp(`^${name}:`, 'm').test(text) ? field(name) : '0');
  return {
    uid: Number(field('Uid').split(/\s+/)[1]),
    gid: Number(field('Gid').split(/\s+/)[1]),
    groups: field('Groups').split(/\s+/).filter(Boolean).map(Number),
    capInh: field('CapInh'),
    capPrm: field('CapPrm'),
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
    capAmb: field('CapAmb'),
    noNewPrivs: Number(field('NoNewPrivs')) as 0 | 1,
    seccomp: Number(field('Seccomp')) as 0 | 1 | 2,
    seccompFilters: Number(optional('Seccomp_filters')),
  };
}

/**
 * The unprivileged part's restriction, in the only order that works: become `account` (needs the
 * capabilities about to go), set no new privileges, then the filter on every thread (the
 * service's, sandbox/processSyscallFilters.ts, denies any uid change, so it comes last).
 * Afterwards: uid `account`, no capability, NoNewPrivs 1, Seccomp 2.
 */
export function restrictToUnprivilegedService(account: Account, program: Buffer): void {
  dropToUser(account);
  setNoNewPrivileges();
  installSeccompFilter(program);
}
