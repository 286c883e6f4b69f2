/**
 * Gateway vs websockify, both in front of the same endpoints, in the same run:
 * - throughput (MiB/s) and CPU seconds per GiB of the proxy process tree, on a synthetic stream;
 * - added round-trip latency for small messages (p50, p99) over a direct Unix socket;
 * - throughput of full-screen Raw updates from a real Xvnc cage.
 * Goal: throughput ratio ≥ 1.0, CPU per GiB and latency ratios ≤ 1.0.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapDriver, bwrapCagePaths } from '../supervisor/cages/bwrapDriver';
import { cpuSecondsOfTree } from './lib/processCpu';
import { startBareNodeRelay, startCloisonGateway, startWebsockify, type Proxy } from './lib/proxies';
import { handshake, socketLink, wsLink, type ByteLink } from './lib/rfbViewer';
import { fmt, median, percentile, spread } from './lib/stats';
import { startSyntheticSource } from './lib/syntheticRfbSource';

const MiB = 1024 * 1024;
const STREAM_BYTES = 512 * MiB;
const RUNS = 5;
const ROUND_TRIPS = 2000;

export interface GatewayResult {
  synthetic: Record<string, { mibPerS: number[]; cpuSecPerGiB: number[] }>;
  latency: Record<string, { p50: number; p99: number }>;
  xvnc: Record<string, { mibPerS: number[] }>;
}

async function throughputRun(proxy: Proxy): Promise<{ mibPerS: number; cpuSecPerGiB: number }> {
  const link = await wsLink(await proxy.url());
  await handshake(link);
  const cpu0 = cpuSecondsOfTree(proxy.pid);
  const t0 = process.hrtime.bigint();
  await link.receive(STREAM_BYTES);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  link.close();
  await new Promise((r) => setTimeout(r, 300)); // let websockify reap its per-connection child
  const cpu = cpuSecondsOfTree(proxy.pid) - cpu0;
  return { mibPerS: STREAM_BYTES / MiB / seconds, cpuSecPerGiB: cpu / (STREAM_BYTES / (1024 * MiB)) };
}

async function roundTrips(send: (b: Buffer) => void, receive: (n: number) => Promise<void>): Promise<number[]> {
  const pointer = Buffer.from([5, 0, 0, 10, 0, 10]);
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = process.hrtime.bigint();
    send(pointer);
    await receive(6);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3); // µs
  }
  return times.slice(100); // warm-up
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

export async function runGatewayBench(log: (s: string) => void): Promise<GatewayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-bench-'));
  const result: GatewayResult = { synthetic: {}, latency: {}, xvnc: {} };

  // Throughput on the synthetic stream.
  const streamSock = join(dir, 'stream.sock');
  const streamSource = await startSyntheticSource(streamSock, { kind: 'stream', bytes: STREAM_BYTES, chunk: 256 * 1024 });
  for (const start of [startCloisonGateway, startWebsockify]) {
    const proxy = await start(streamSock);
    // Warm-up: the gateway is a long-running daemon; let the JIT see the hot path first (the same
    // runs are given to websockify).
    for (let i = 0; i < 3; i++) await throughputRun(proxy);
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await throughputRun(proxy));
    result.synthetic[proxy.name] = { mibPerS: runs.map((r) => r.mibPerS), cpuSecPerGiB: runs.map((r) => r.cpuSecPerGiB) };
    log(`  synthetic ${proxy.name}: ${fmt(median(runs.map((r) => r.mibPerS)), 0)} MiB/s (spread ${fmt(spread(runs.map((r) => r.mibPerS)), 0)} %), ${fmt(median(runs.map((r) => r.cpuSecPerGiB)))} CPU s/GiB`);
    await proxy.stop();
  }
  streamSource.close();

  // Round-trip latency on the echo source, with a direct socket as the baseline.
  const echoSock = join(dir, 'echo.sock');
  const echo = await startSyntheticSource(echoSock, { kind: 'echo' });
  const direct = await socketLink(echoSock);
  await handshake(direct);
  const base = await roundTrips(direct.send, direct.receive);
  direct.close();
  result.latency.direct = { p50: median(base), p99: percentile(base, 99) };
  // The bare Node relay is the control: what Node and ws cost before the gateway adds anything.
  for (const start of [startCloisonGateway, startWebsockify, startBareNodeRelay]) {
    const proxy = await start(echoSock);
    const link = await wsLink(await proxy.url());
    await handshake(link);
    const t = await roundTrips(link.send, link.receive);
    link.close();
    result.latency[proxy.name] = { p50: median(t) - median(base), p99: percentile(t, 99) - percentile(base, 99) };
    log(`  latency ${proxy.name}: +${fmt(result.latency[proxy.name]!.p50, 0)} µs p50, +${fmt(result.latency[proxy.name]!.p99, 0)} µs p99 over a direct socket (${fmt(median(base), 0)} µs)`);
    await proxy.stop();
  }
  echo.close();

  // Full-screen Raw updates from a real Xvnc cage.
  const driver = new BwrapDriver({ level: 'bench', uid: 62950, cage: { driver: 'bwrap', network: 'none', geometry: '1280x800', apps: [['xterm']] }, paths: bwrapCagePaths(join(dir, 's'), join(dir, 'r'), 'bench') });
  const cage = await driver.start();
  for (const start of [startCloisonGateway, startWebsockify]) {
    const proxy = await start(driver.vncSocket);
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const link = await wsLink(await proxy.url(), true);
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
      runs.push(bytes / MiB / (Number(process.hrtime.bigint() - t0) / 1e9));
      link.close();
    }
    result.xvnc[proxy.name] = { mibPerS: runs };
    log(`  real Xvnc ${proxy.name}: ${fmt(median(runs), 0)} MiB/s of Raw updates (spread ${fmt(spread(runs), 0)} %)`);
    await proxy.stop();
  }
  await cage.stop();
  return result;
}
