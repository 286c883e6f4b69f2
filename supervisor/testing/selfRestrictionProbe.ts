/**
 * Test helper run as its own Node process (never in the test runner): restricts itself with
 * system/selfRestriction.ts as argv[2] says, then acts as an attacker holding code execution in it
 * would — each syscall an escape goes through, and the programs that do the same — and as the
 * service it is meant to stay: an HTTP and WebSocket server on loopback, talked to from inside.
 * Prints one JSON line, then waits for its stdin to close so the test can read /proc meanwhile.
 *
 * Each attack is called with arguments that harm nothing when the kernel does run it (a missing
 * module name, a bad magic, an invalid clock): without a filter it fails with its own errno or
 * succeeds; only a filter (or a missing capability) answers EPERM before the kernel looks.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { Worker } from 'node:worker_threads';
import { WebSocket, WebSocketServer } from 'ws';
import { rootPartSeccompProgram, serviceSeccompProgram } from '../sandbox/processSyscallFilters';
import { dropBoundingCapabilities, dropToUser, installSeccompFilter, restrictToUnprivilegedService, setNoNewPrivileges, type Account, type CapabilityName } from '../system/selfRestriction';

export type Step = 'noNewPrivs' | 'otherFilterOnAWorker' | { seccomp: 'service' | 'root' } | { bounding: CapabilityName[] } | { user: Account } | { service: Account };
export interface ProbeRequest {
  steps: Step[];
  /** Also serve HTTP and WebSocket on 127.0.0.1 and talk to them. */
  serve?: boolean;
}
export interface ProbeReport {
  /** Attack name → "ok" or the errno name it failed with. */
  attacks: Record<string, string>;
  /** Programs run after the restriction: name → "exit N" (their filter is inherited). */
  programs: Record<string, string>;
  served?: { http: string; ws: string };
  error?: string;
}

const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long, ...)') as unknown as (...args: unknown[]) => number;
const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 9: 'EBADF', 14: 'EFAULT', 16: 'EBUSY', 22: 'EINVAL', 38: 'ENOSYS', 95: 'EOPNOTSUPP' };
const L = 'long';
const P = 'void *';

function call(nr: number, ...args: unknown[]): string {
  const r = syscall(nr, ...args);
  if (r >= 0) return 'ok';
  const e = koffi.errno();
  return ERRNO[e] ?? `errno ${e}`;
}

/** Each syscall as an escape would use it, with arguments the kernel would refuse harmlessly. */
function attacks(scratch: string, sleeper: number): Record<string, string> {
  const out: Record<string, string> = {};
  out.unshare = call(272, L, 0x00020000); // CLONE_NEWNS, this thread only; the probe exits after
  out.mount = call(165, 'str', 'none', 'str', scratch, 'str', 'tmpfs', L, 0, P, null);
  if (out.mount === 'ok') out.umount = call(166, 'str', scratch, L, 0);
  out.setns = call(308, L, -1, L, 0); // EBADF past the filter
  out.ptrace = call(101, L, 16, L, sleeper, P, null, P, null); // PTRACE_ATTACH to our own child
  if (out.ptrace === 'ok') call(101, L, 17, L, sleeper, P, null, P, null); // PTRACE_DETACH
  out.kexec_load = call(246, L, 0, L, 0, P, null, L, 0xdead0000); // unknown flags: EINVAL
  out.init_module = call(175, P, null, L, 0, 'str', ''); // EFAULT/ENOEXEC past the filter
  out.finit_module = call(313, L, -1, 'str', '', L, 0); // EBADF
  out.delete_module = call(176, 'str', 'cloison_no_such_module', L, 0); // ENOENT
  out.bpf = call(321, L, 0x7fff, P, null, L, 0); // unknown command: EINVAL
  out.perf_event_open = call(298, P, null, L, 0, L, -1, L, -1, L, 0); // EFAULT
  out.keyctl = call(250, L, 0, L, -3, L, 0); // the session keyring's id
  out.swapoff = call(168, 'str', '/cloison-no-such-swap'); // ENOENT
  out.reboot = call(169, L, 0, L, 0, L, 0, P, null); // bad magic: EINVAL
  out.clock_settime = call(227, L, 0x7fff, P, null); // no such clock: EINVAL
  out.open_by_handle_at = call(304, L, -1, P, null, L, 0); // EBADF/EFAULT
  // A /dev/mem node of its own (CAP_MKNOD), then read kernel memory through it; removed at once.
  out.mknod = call(259, L, -100, 'str', `${scratch}/mem`, L, 0o20600, L, (1 << 8) | 1);
  if (out.mknod === 'ok') call(87, 'str', `${scratch}/mem`);
  // A raw packet socket (CAP_NET_RAW): sniffing and forging the host's traffic.
  const raw = syscall(41, L, 17, L, 3, L, 0);
  out.rawSocket = raw >= 0 ? 'ok' : (ERRNO[koffi.errno()] ?? `errno ${koffi.errno()}`);
  if (raw >= 0) call(3, L, raw);
  out.setuid0 = call(105, L, 0);
  return out;
}

async function serve(): Promise<{ http: string; ws: string }> {
  const server = createServer((_req, res) => res.end('hello over http'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${m.toString()}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const http = await new Promise<string>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/`, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(client, 'open');
  client.send('ping');
  const [reply] = (await once(client, 'message')) as [Buffer];
  client.close();
  wss.close();
  server.close();
  return { http, ws: reply.toString() };
}

/**
 * A worker thread puts a filter of its own on itself only (no TSYNC): a thread the next
 * process-wide filter cannot be synchronised with, which must make that one fail as a whole.
 */
async function otherFilterOnAWorker(): Promise<void> {
  const code = `
    const koffi = require('koffi');
    const { parentPort } = require('node:worker_threads');
    const libc = koffi.load('libc.so.6');
    koffi.struct('worker_sock_fprog', { len: 'uint16', filter: 'void *' });
    const seccomp = libc.func('long syscall(long, long, long, const worker_sock_fprog *)');
    const prctl = libc.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
    const allow = Buffer.alloc(8); allow.writeUInt16LE(0x06, 0); allow.writeUInt32LE(0x7fff0000, 4);
    parentPort.postMessage([prctl(38, 1, 0, 0, 0), seccomp(317, 1, 0, { len: 1, filter: allow })]);
    setInterval(() => {}, 1000);`;
  const worker = new Worker(code, { eval: true });
  const [result] = (await once(worker, 'message')) as [number[]];
  if (result.some((r) => r !== 0)) throw new Error(`the worker's own filter failed: ${result}`);
  worker.unref();
}

async function apply(step: Step): Promise<void> {
  if (step === 'noNewPrivs') return setNoNewPrivileges();
  if (step === 'otherFilterOnAWorker') return otherFilterOnAWorker();
  if ('seccomp' in step) return installSeccompFilter(step.seccomp === 'service' ? serviceSeccompProgram() : rootPartSeccompProgram());
  if ('bounding' in step) return dropBoundingCapabilities(step.bounding);
  if ('user' in step) return dropToUser(step.user);
  return restrictToUnprivilegedService(step.service, serviceSeccompProgram());
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest;
  const scratch = mkdtempSync(join(tmpdir(), 'cloison-selfprobe-'));
  const report: ProbeReport = { attacks: {}, programs: {} };
  let sleeper: ReturnType<typeof spawn> | null = null;
  try {
    for (const step of request.steps) await apply(step);
    // Started after the restriction, as the process it then is: its own child to trace.
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    report.attacks = attacks(scratch, sleeper.pid!);
    const run = (name: string, argv: string[]) => {
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      report.programs[name] = r.error ? `error ${(r.error as NodeJS.ErrnoException).code}` : `exit ${r.status}`;
    };
    run('true', ['true']);
    run('unshare -U', ['unshare', '-U', 'true']);
    run('unshare -m', ['unshare', '-m', 'true']);
    if (request.serve) report.served = await serve();
  } catch (err) {
    report.error = (err as Error).message;
  } finally {
    sleeper?.kill();
    try {
      rmdirSync(scratch);
    } catch {
      // a run as another user cannot remove root's folder; the test removes it
    }
  }
  process.stdout.write(`${JSON.stringify({ ...report, scratch })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

void main();
