/**
 * Audit of the gateway benchmark's CPU accounting (#29): streams through each proxy as
 * gateway.bench.ts does, and beside the benchmark's own reading (the process tree's utime, stime,
 * cutime and cstime before the stream and 300 ms after it) watches every process of each proxy's
 * tree every few milliseconds, so a process that the benchmark's reading misses (a per-connection
 * child still running, or reaped after the reading, or never reaped into its parent) shows.
 *
 * It also prints, per process, user and system time, minor faults, and read()/write() calls per
 * MiB with their mean size (/proc/PID/io; websockify's recv()/send() are not counted there).
 *
 *   [AUDIT_SIDES=split,rootcg,ws] [AUDIT_RUNS=4] [AUDIT_SWAP=1] node --import tsx bench/gatewayCpuAudit.ts
 *
 * The sides are started together, as gateway-split starts them, and streamed through in turn.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOfTree } from './lib/processCpu';
import { startCloisonGateway, startCloisonGatewaySplit, startWebsockify, type Proxy } from './lib/proxies';
import { handshake, wsLink } from '../supervisor/testing/rfbViewer';
import { startSyntheticSource } from './lib/syntheticRfbSource';

const MiB = 1024 * 1024;
const STREAM_BYTES = 512 * MiB;

/** One process as last seen, and as first seen in the run (its counters from 0 if it started during it). */
interface Seen {
  cmd: string;
  state: string;
  own: number;
  first: number;
  children: number;
  user: number;
  firstUser: number;
  sys: number;
  firstSys: number;
  faults: number;
  firstFaults: number;
  io: number[];
  firstIo: number[];
}

type Stat = { ppid: number; own: number; children: number; state: string; user: number; sys: number; faults: number };

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]), user: Number(f[11]), sys: Number(f[12]), faults: Number(f[7]) };
  } catch {
    return null;
  }
}

function tree(root: number): Map<number, Stat> {
  const all = new Map<number, Stat>();
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e)) { const s = stat(Number(e)); if (s) all.set(Number(e), s); }
  const out = new Map<number, Stat>();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const s = all.get(pid);
    if (!s) continue;
    out.set(pid, s);
    for (const [c, cs] of all) if (cs.ppid === pid) stack.push(c);
  }
  return out;
}

/** rchar, wchar, syscr, syscw of /proc/PID/io: bytes and system calls read and written. */
function io(pid: number): number[] {
  try {
    const t = readFileSync(`/proc/${pid}/io`, 'utf8');
    return ['rchar', 'wchar', 'syscr', 'syscw'].map((k) => Number(new RegExp(`${k}: (\\d+)`).exec(t)?.[1] ?? 0));
  } catch {
    return [0, 0, 0, 0];
  }
}

function cmdOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 90); } catch { return '?'; }
}

function ioLine(s: Seen): string {
  const [r, w, cr, cw] = s.io.map((v, i) => v - s.firstIo[i]!);
  const mib = STREAM_BYTES / MiB;
  return `reads ${(cr! / mib).toFixed(1)}/MiB of ${(r! / cr! / 1024).toFixed(1)} KiB, writes ${(cw! / mib).toFixed(1)}/MiB of ${(w! / cw! / 1024).toFixed(1)} KiB`;
}

async function auditedRun(proxy: Proxy): Promise<void> {
  const link = await wsLink(await proxy.url());
  await handshake(link);
  const seen = new Map<number, Seen>();
  const watch = () => {
    for (const [pid, s] of tree(proxy.pid)) {
      const old = seen.get(pid);
      if (old) Object.assign(old, { io: io(pid), own: s.own, children: s.children, state: s.state, user: s.user, sys: s.sys, faults: s.faults });
      else seen.set(pid, { io: io(pid), firstIo: atStartIo(pid), cmd: cmdOf(pid), own: s.own, children: s.children, state: s.state, first: s.own, user: s.user, sys: s.sys, faults: s.faults, firstUser: s.user, firstSys: s.sys, firstFaults: s.faults });
    }
  };
  const atStartIo = (pid: number) => (starting ? io(pid) : [0, 0, 0, 0]);
  let starting = true;
  watch();
  starting = false;
  const atStart = new Set(seen.keys());
  const cpu0 = cpuSecondsOfTree(proxy.pid);
  const timer = setInterval(watch, 5);
  const t0 = process.hrtime.bigint();
  await link.receive(STREAM_BYTES);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  link.close();
  await new Promise((r) => setTimeout(r, 300));
  const bench = cpuSecondsOfTree(proxy.pid) - cpu0;
  watch();
  const states = [...tree(proxy.pid)].map(([p, s]) => `${p}:${s.state}`).join(' ');
  await new Promise((r) => setTimeout(r, 2000));
  clearInterval(timer);
  const later = cpuSecondsOfTree(proxy.pid) - cpu0;
  // Own time of every process seen (new ones from 0): what each process of the tree spent.
  let own = 0;
  const lines: string[] = [];
  for (const [pid, s] of seen) {
    const d = (s.own - (atStart.has(pid) ? s.first : 0)) / 100;
    own += d;
    if (d > 0.02) lines.push(`    ${pid} ${atStart.has(pid) ? 'old' : 'new'} own +${d.toFixed(2)} s (user ${((s.user - s.firstUser) / 100).toFixed(2)}, system ${((s.sys - s.firstSys) / 100).toFixed(2)}, minor faults ${s.faults - s.firstFaults}; ${ioLine(s)}), children total ${(s.children / 100).toFixed(2)} s, last state ${s.state}: ${s.cmd}`);
  }
  const gib = STREAM_BYTES / (1024 * MiB);
  console.log(`  ${proxy.name}: ${(STREAM_BYTES / MiB / seconds).toFixed(0)} MiB/s; bench's reading ${(bench / gib).toFixed(2)} s/GiB, 2.3 s after ${(later / gib).toFixed(2)}, every process's own time ${(own / gib).toFixed(2)}; processes ${seen.size}, tree at the reading ${states}`);
  for (const l of lines) console.log(l);
}

const dir = mkdtempSync(join(tmpdir(), 'cloison-audit-'));
const sock = join(dir, 'stream.sock');
console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(1)).join(', ')}`);
const source = await startSyntheticSource(sock, { kind: 'stream', bytes: STREAM_BYTES, chunk: 256 * 1024 });
const runs = Number(process.env.AUDIT_RUNS ?? 4);
// split: the split supervisor's gateway; root: the root one's; rootcg: its browser child in a control group (gateway-split's root side); ws: websockify.
const byName: Record<string, (p: string) => Promise<Proxy>> = { split: startCloisonGatewaySplit, root: (p) => startCloisonGateway(p), rootcg: (p) => startCloisonGateway(p, undefined, true), ws: startWebsockify };
const starts = (process.env.AUDIT_SIDES ?? 'split,rootcg,ws').split(',').map((n) => {
  const start = byName[n];
  if (!start) throw new Error(`AUDIT_SIDES: no side ${n} (${Object.keys(byName).join(', ')})`);
  return start;
});
const proxies = await Promise.all(starts.map((s) => s(sock)));
// AUDIT_SWAP=1: the order reversed every other round (is it the process or its place in the round?).
for (let i = 0; i < runs; i++) for (const p of process.env.AUDIT_SWAP === '1' && i % 2 ? [...proxies].reverse() : proxies) await auditedRun(p);
for (const p of proxies) await p.stop();
source.close();
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(', ')}`);
process.exit(0);
