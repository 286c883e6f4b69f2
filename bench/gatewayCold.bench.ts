/**
 * The gateway's first moments: added round-trip latency of the first 2,000 small messages (a
 * 6-byte PointerEvent echoed by a synthetic endpoint) on a proxy process started just before —
 * Cloison's gateway as the supervisor runs it, and websockify, each started afresh several times
 * (one cold start is one sample: its p99 is set by a handful of messages). Goal: the gateway's cold
 * p99 ≤ 2× websockify's. The gateway is measured three ways: warmed up as the supervisor warms it
 * after start-up (gatewayWarmUp.ts), before its first viewer — what a user meets; with that
 * warm-up running beside its first viewer — someone typing during it; and without any warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handshake, socketLink, wsLink } from '../supervisor/testing/rfbViewer';
import { startCloisonGateway, startWebsockify, type Proxy } from './lib/proxies';
import { fmt, median, percentile } from './lib/stats';
import { pointerRoundTrips } from './lib/roundTrips';
import { startSyntheticSource } from './lib/syntheticRfbSource';

const STARTS = 7;
const ROUND_TRIPS = 2000;

export interface ColdResult {
  /** Per start: added p50 and p99 over the direct socket, µs. */
  starts: Record<string, Array<{ p50: number; p99: number }>>;
}

export async function runGatewayColdBench(log: (s: string) => void): Promise<ColdResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-cold-'));
  const echoSock = join(dir, 'echo.sock');
  const echo = await startSyntheticSource(echoSock, { kind: 'echo' });
  const proxies: Record<string, (socketPath: string) => Promise<Proxy>> = {
    cloison: (path) => startCloisonGateway(path, 'first'),
    'cloison, warming up beside': (path) => startCloisonGateway(path, 'beside'),
    'cloison, no warm-up': (path) => startCloisonGateway(path),
    websockify: startWebsockify,
  };
  const result: ColdResult = { starts: Object.fromEntries(Object.keys(proxies).map((name) => [name, []])) };
  try {
    for (let i = 0; i < STARTS; i++) {
      // The proxies take turns in a different order each round: none always follows the same one.
      const names = Object.keys(proxies);
      const order = names.map((_, k) => names[(k + i) % names.length]!);
      for (const name of order) {
        const direct = await socketLink(echoSock);
        await handshake(direct);
        const base = await pointerRoundTrips(direct, ROUND_TRIPS);
        direct.close();
        const proxy = await proxies[name]!(echoSock);
        const link = await wsLink(await proxy.url());
        await handshake(link);
        const t = await pointerRoundTrips(link, ROUND_TRIPS);
        link.close();
        await proxy.stop();
        result.starts[name]!.push({ p50: median(t) - median(base), p99: percentile(t, 99) - percentile(base, 99) });
      }
    }
  } finally {
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [name, starts] of Object.entries(result.starts)) {
    log(`  ${name}, first ${ROUND_TRIPS} round trips after its start (${STARTS} starts): added p50 median +${fmt(median(starts.map((s) => s.p50)), 0)} µs, p99 median +${fmt(median(starts.map((s) => s.p99)), 0)} µs (each start: ${starts.map((s) => fmt(s.p99, 0)).join(', ')})`);
  }
  return result;
}
