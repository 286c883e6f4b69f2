/**
 * Gateway vs websockify, both in front of the same endpoints, in the same run:
 * - throughput (MiB/s) and CPU seconds per GiB of the proxy process tree, on a synthetic stream;
 * - added round-trip latency for small messages (p50, p99) over a direct Unix socket;
 * - throughput of full-screen Raw updates from a real Xvnc cage.
 * Goal: throughput ratio ≥ 1.0, CPU per GiB and latency ratios ≤ 1.0.
 *
 * `split` (npm run bench -- gateway-split, #29): the gateway as the split supervisor runs it
 * (lib/splitGatewayProcess.ts: the cage manager as root hands each connection to its `cloison`
 * part, which hands it on to its browser child) measured beside the root supervisor's (its
 * browser child fed by the root part) and websockify, every measurement the same and in the same run.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapDriver, bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { DEFAULT_CAGE_LIMITS } from '../shared/policy';
import { cpuSecondsOfTree } from './lib/processCpu';
import { countersSince, treeCounters, type TreeCounters } from './lib/gatewayTreeCounters';
import { startBareNodeRelay, startCloisonGateway, startCloisonGatewaySplit, startWebsockify, type Proxy } from './lib/proxies';
import { handshake, socketLink, wsLink, type ByteLink } from '../supervisor/testing/rfbViewer';
import { fmt, median, percentile, spread } from './lib/stats';
import { pointerRoundTrips } from './lib/roundTrips';
import { startSyntheticSource } from './lib/syntheticRfbSource';

const MiB = 1024 * 1024;
const STREAM_BYTES = 512 * MiB;
const RUNS = 5;
/** Round trips right after a proxy starts (JIT cold), then discarded warm-up, then measured rounds. */
const COLD_ROUND_TRIPS = 2000;
const WARM_UP_ROUND_TRIPS = 20_000;
const ROUNDS = 5;
const ROUND_TRIPS_PER_ROUND = 1000;
const XVNC_WARM_UP_RUNS = 3;
const XVNC_RUNS = 15;

export interface GatewayResult {
  /** Per run; `counters`: what the proxy's tree did beside its CPU (lib/gatewayTreeCounters.ts). */
  synthetic: Record<string, { mibPerS: number[]; cpuSecPerGiB: number[]; counters?: TreeCounters[] }>;
  /** Added round-trip latency over a direct socket, steady state (the daemon's normal state). */
  latency: Record<string, { p50: number; p99: number; roundTripP50: number; roundTripP99: number }>;
  /** The same for the first round trips after the proxy started (JIT not warmed up yet). */
  latencyCold: Record<string, { p50: number; p99: number }>;
  xvnc: Record<string, { mibPerS: number[] }>;
}

/**
 * One 512 MiB stream through `proxy`. CPU: the proxy's process tree, its processes' own time and
 * that of children already reaped (cutime), before the stream and 300 ms after it. Checked with
 * gatewayCpuAudit.ts (2026-12-06): websockify's per-connection child is in the tree at both
 * readings or reaped into its parent's cutime by the second; the gateway's tree holds its
 * processes only; every process's own time, watched every 5 ms, adds up to this reading.
 */
async function throughputRun(proxy: Proxy): Promise<{ mibPerS: number; cpuSecPerGiB: number; counters: TreeCounters }> {
  const link = await wsLink(await proxy.url());
  await handshake(link);
  const counters0 = treeCounters(proxy.pid);
  const cpu0 = cpuSecondsOfTree(proxy.pid);
  const t0 = process.hrtime.bigint();
  await link.receive(STREAM_BYTES);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  link.close();
  await new Promise((r) => setTimeout(r, 300)); // let websockify reap its per-connection child
  const cpu = cpuSecondsOfTree(proxy.pid) - cpu0;
  const counters = countersSince(counters0, treeCounters(proxy.pid));
  return { mibPerS: STREAM_BYTES / MiB / seconds, cpuSecPerGiB: cpu / (STREAM_BYTES / (1024 * MiB)), counters };
}

/** Faults and (Node's) read calls per MiB, KiB per read: which regime a gateway run was in. */
function countersLine(c: TreeCounters): string {
  const mib = STREAM_BYTES / MiB;
  const reads = c.readCalls > 0 ? `, ${fmt(c.readCalls / mib, 1)} reads/MiB of ${fmt(c.readBytes / c.readCalls / 1024, 0)} KiB` : '';
  return `${fmt(c.minorFaults / mib, 0)} faults/MiB${reads}`;
}

/** Reads one FramebufferUpdate of Raw rectangles (the server may split the screen); returns its size. */
async function readRawUpdate(link: ByteLink): Promise<number> {
  const head = await link.read(4);
  if (head[0] !== 0) throw new Error(`expected a FramebufferUpdate, got message type ${head[0]}`);
  let bytes = 4;
  for (let i = head.readUInt16BE(2); i > 0; i--) {
    const rect = await link.read(12);
    const size = rect.readUInt16BE(4) * rect.readUInt16BE(6) * 4;
    if (rect.readInt32BE(8) !== 0) throw new Error(`expected Raw, got encoding ${rect.readInt32BE(8)}`);
    await link.read(size);
    bytes += 12 + size;
  }
  return bytes;
}

/** One viewer session: RFB handshake, Raw only, 40 full-screen non-incremental updates; MiB/s. */
async function rawUpdatesRun(link: ByteLink): Promise<number> {
  await link.read(12);
  link.send(Buffer.from('RFB 003.008\n'));
  await link.read(2);
  link.send(Buffer.from([1]));
  await link.read(4);
  link.send(Buffer.from([1]));
  const init = await link.read(24);
  await link.read(init.readUInt32BE(20));
  link.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0])); // SetEncodings: Raw only
  const request = Buffer.from([3, 0, 0, 0, 0, 0, 5, 0, 3, 32]); // full 1280x800, non-incremental
  const frames = 40;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let f = 0; f < frames; f++) {
    link.send(request);
    bytes += await readRawUpdate(link);
  }
  const mibPerS = bytes / MiB / (Number(process.hrtime.bigint() - t0) / 1e9);
  link.close();
  return mibPerS;
}

export async function runGatewayBench(log: (s: string) => void, options: { split?: boolean } = {}): Promise<GatewayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-bench-'));
  const result: GatewayResult = { synthetic: {}, latency: {}, latencyCold: {}, xvnc: {} };
  // Split, the root side's browser child runs in a control group as the split's part does (and the product's browser part).
  const cloisons = options.split ? [startCloisonGatewaySplit, (path: string) => startCloisonGateway(path, undefined, true)] : [startCloisonGateway];
  log(`  load average (1, 5, 15 min) at the start: ${loadavg().map((l) => fmt(l, 1)).join(', ')}`);

  // Throughput on the synthetic stream.
  const streamSock = join(dir, 'stream.sock');
  const streamSource = await startSyntheticSource(streamSock, { kind: 'stream', bytes: STREAM_BYTES, chunk: 256 * 1024 });
  // Split: the proxies take turns run by run (the load of the shared machine swings within minutes).
  const streamProxies = options.split ? await Promise.all([...cloisons, startWebsockify].map((start) => start(streamSock))) : [];
  const turns = options.split ? [streamProxies] : [];
  if (!options.split) for (const start of [...cloisons, startWebsockify]) turns.push([await start(streamSock)]);
  for (const group of turns) {
    // Warm-up: the gateway is a long-running daemon; let the JIT see the hot path first (the same
    // runs are given to websockify).
    for (let i = 0; i < 3; i++) for (const proxy of group) await throughputRun(proxy);
    const runs = new Map<string, Array<{ mibPerS: number; cpuSecPerGiB: number; counters: TreeCounters }>>(group.map((p) => [p.name, []]));
    for (let i = 0; i < RUNS; i++) for (const proxy of group) runs.get(proxy.name)!.push(await throughputRun(proxy));
    for (const proxy of group) {
      const mine = runs.get(proxy.name)!;
      result.synthetic[proxy.name] = { mibPerS: mine.map((r) => r.mibPerS), cpuSecPerGiB: mine.map((r) => r.cpuSecPerGiB), counters: mine.map((r) => r.counters) };
      log(`  synthetic ${proxy.name}: ${fmt(median(mine.map((r) => r.mibPerS)), 0)} MiB/s (spread ${fmt(spread(mine.map((r) => r.mibPerS)), 0)} %), ${fmt(median(mine.map((r) => r.cpuSecPerGiB)))} CPU s/GiB`);
      // Every run: the gateway's CPU per GiB is bimodal per process (gatewayCpuAudit.ts); the median hides which mode.
      for (const r of mine) log(`    ${fmt(r.mibPerS, 0)} MiB/s, ${fmt(r.cpuSecPerGiB)} s/GiB, ${countersLine(r.counters)}`);
      await proxy.stop();
    }
  }
  streamSource.close();

  // Round-trip latency on the echo source, with a direct socket as the baseline. Every path is
  // warmed up the same way (the gateway is a long-running daemon: its steady state is what users
  // get), then measured in interleaved rounds so drift on the shared cores hits all alike. The
  // bare Node relay is the control: what Node and ws cost before the gateway adds anything.
  const echoSock = join(dir, 'echo.sock');
  const echo = await startSyntheticSource(echoSock, { kind: 'echo' });
  const direct = await socketLink(echoSock);
  await handshake(direct);
  const directCold = await pointerRoundTrips(direct, COLD_ROUND_TRIPS);
  const proxies: Proxy[] = [];
  const links = new Map<string, ByteLink>([['direct', direct]]);
  for (const start of [...cloisons, startWebsockify, startBareNodeRelay]) {
    const proxy = await start(echoSock);
    proxies.push(proxy);
    const link = await wsLink(await proxy.url());
    await handshake(link);
    const cold = await pointerRoundTrips(link, COLD_ROUND_TRIPS);
    result.latencyCold[proxy.name] = { p50: median(cold) - median(directCold), p99: percentile(cold, 99) - percentile(directCold, 99) };
    links.set(proxy.name, link);
  }
  for (const link of links.values()) await pointerRoundTrips(link, WARM_UP_ROUND_TRIPS);
  const samples = new Map<string, number[]>([...links.keys()].map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, link] of links) samples.get(name)!.push(...(await pointerRoundTrips(link, ROUND_TRIPS_PER_ROUND)));
  const base = samples.get('direct')!;
  log(`  latency direct socket: ${fmt(median(base), 0)} µs p50, ${fmt(percentile(base, 99), 0)} µs p99 (${base.length} round trips)`);
  for (const proxy of proxies) {
    const t = samples.get(proxy.name)!;
    result.latency[proxy.name] = { p50: median(t) - median(base), p99: percentile(t, 99) - percentile(base, 99), roundTripP50: median(t), roundTripP99: percentile(t, 99) };
    const cold = result.latencyCold[proxy.name]!;
    log(`  latency ${proxy.name}: +${fmt(result.latency[proxy.name]!.p50, 0)} µs p50, +${fmt(result.latency[proxy.name]!.p99, 0)} µs p99 over the direct socket (cold, first ${COLD_ROUND_TRIPS}, no warm-up: +${fmt(cold.p50, 0)} / +${fmt(cold.p99, 0)} µs)`);
    links.get(proxy.name)!.close();
    await proxy.stop();
  }
  direct.close();
  echo.close();

  // Full-screen Raw updates from a real Xvnc cage, the proxies taking turns run by run (the cage,
  // the proxy and the client share the cores: interleaving spreads the drift over both).
  const driver = new BwrapDriver({ level: 'bench', uid: 59950, cage: { driver: 'bwrap', network: 'none', geometry: '1280x800', apps: [{ id: 'xterm', exec: ['xterm'], autostart: true }], limits: DEFAULT_CAGE_LIMITS }, paths: bwrapCagePaths(join(dir, 's'), join(dir, 'r'), 'bench') });
  const cage = await driver.start();
  const xvncProxies = [...(await Promise.all(cloisons.map((start) => start(driver.vncSocket)))), await startWebsockify(driver.vncSocket)];
  const xvncRuns = new Map<string, number[]>(xvncProxies.map((p) => [p.name, []]));
  for (let r = 0; r < XVNC_WARM_UP_RUNS + XVNC_RUNS; r++) {
    for (const proxy of xvncProxies) {
      const mibPerS = await rawUpdatesRun(await wsLink(await proxy.url(), true));
      if (r >= XVNC_WARM_UP_RUNS) xvncRuns.get(proxy.name)!.push(mibPerS);
    }
  }
  for (const proxy of xvncProxies) {
    const runs = xvncRuns.get(proxy.name)!;
    result.xvnc[proxy.name] = { mibPerS: runs };
    log(`  real Xvnc ${proxy.name}: ${fmt(median(runs), 0)} MiB/s of Raw updates (spread ${fmt(spread(runs), 0)} %)`);
    await proxy.stop();
  }
  await cage.stop();
  log(`  load average (1, 5, 15 min) at the end: ${loadavg().map((l) => fmt(l, 1)).join(', ')}`);
  return result;
}
