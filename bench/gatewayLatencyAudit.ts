/**
 * Where the gateway's small-message round trip has its tail (#29): the round trips of
 * gateway.bench.ts's latency part (6-byte PointerEvents through each proxy to the echoing
 * synthetic source, a direct socket as the baseline), but more of them, repeated, and with the
 * tail itself printed (p90, p99, p99.9, round trips past 200 µs and 1 ms) for each proxy, every
 * repetition's split / websockify added-p99 ratio, and their median.
 *
 *   [AUDIT_SIDES=split,ws,bare,root,rootnocg,rootcpu,rootshares,rootowncpu,semi1,semi4,semi8] [AUDIT_REPEATS=5] [AUDIT_ROUNDS=5] [AUDIT_PER_ROUND=1000]
 *   [BENCH_NODE_FLAGS=…] node --import tsx bench/gatewayLatencyAudit.ts
 *
 * Each repetition is what gateway-split measures once: rounds of round trips taking turns between
 * the links. AUDIT_PAUSE=1 stops after the warm-up and prints the proxies' pids (to attach strace
 * or perf), then goes on when its standard input gets a line.
 */
import { mkdtempSync, rmdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startBareNodeRelay, startCloisonGateway, startCloisonGatewaySplit, startWebsockify, type Proxy } from './lib/proxies';
import { handshake, socketLink, wsLink, type ByteLink } from '../supervisor/testing/rfbViewer';
import { fmt, median, percentile } from './lib/stats';
import { pointerRoundTrips } from './lib/roundTrips';
import { startSyntheticSource } from './lib/syntheticRfbSource';

/** The sides: `root*` are the root supervisor's stand-in (its browser child in a control group of its own, as the product's) under one lever each (lib/latencyLevers.ts). */
const SIDES: Record<string, (path: string) => Promise<Proxy>> = {
  split: startCloisonGatewaySplit,
  root: (path) => startCloisonGateway(path, undefined, true),
  rootnocg: (path) => startCloisonGateway(path),
  rootcpu: (path) => withEnv({ BENCH_CPU: 'outside' }, () => startCloisonGateway(path, undefined, true)),
  rootshares: (path) => withEnv({ BENCH_CPU: 'shares:10240' }, () => startCloisonGateway(path, undefined, true)),
  rootowncpu: (path) => withEnv({ BENCH_CPU: 'dir:/sys/fs/cgroup/cpu/cloison-bench-parts/gateway' }, () => startCloisonGateway(path, undefined, true)),
  // The product's browser part runs with PART_NODE_FLAGS (sandbox/unprivilegedPart.ts): its young generation's size.
  semi1: (path) => withEnv({ BENCH_NODE_FLAGS: '--max-semi-space-size=1' }, () => startCloisonGateway(path)),
  semi4: (path) => withEnv({ BENCH_NODE_FLAGS: '--max-semi-space-size=4' }, () => startCloisonGateway(path)),
  semi8: (path) => withEnv({ BENCH_NODE_FLAGS: '--max-semi-space-size=8' }, () => startCloisonGateway(path)),
  ws: startWebsockify,
  bare: startBareNodeRelay,
};
async function withEnv<T>(env: Record<string, string>, start: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  try {
    return await start();
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
  }
}
const sides = (process.env.AUDIT_SIDES ?? 'split,ws').split(',');
const repeats = Number(process.env.AUDIT_REPEATS ?? 5);
const rounds = Number(process.env.AUDIT_ROUNDS ?? 5);
const perRound = Number(process.env.AUDIT_PER_ROUND ?? 1000);

const dir = mkdtempSync(join(tmpdir(), 'cloison-latency-'));
const echoSock = join(dir, 'echo.sock');
const echo = await startSyntheticSource(echoSock, { kind: 'echo' });
const links = new Map<string, ByteLink>();
const direct = await socketLink(echoSock);
await handshake(direct);
links.set('direct', direct);
const proxies: Proxy[] = [];
for (const side of sides) {
  const proxy = await SIDES[side]!(echoSock);
  proxies.push(proxy);
  const link = await wsLink(await proxy.url());
  await handshake(link);
  links.set(side, link);
}
for (const link of links.values()) await pointerRoundTrips(link, 20_000);
if (process.env.AUDIT_PAUSE === '1') {
  console.log(`warmed up; pids ${proxies.map((p, i) => `${sides[i]} ${p.pid}`).join(', ')}; a line on stdin goes on`);
  await new Promise((r) => createInterface({ input: process.stdin }).once('line', r));
}

const tail = (t: number[]) => `p50 ${fmt(median(t), 0)} p90 ${fmt(percentile(t, 90), 0)} p99 ${fmt(percentile(t, 99), 0)} p99.9 ${fmt(percentile(t, 99.9), 0)} max ${fmt(Math.max(...t), 0)} µs, >200 µs ${t.filter((v) => v > 200).length}, >1 ms ${t.filter((v) => v > 1000).length}`;
const ratios: Record<string, number[]> = {};
for (let rep = 0; rep < repeats; rep++) {
  const samples = new Map<string, number[]>([...links.keys()].map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [name, link] of links) samples.get(name)!.push(...(await pointerRoundTrips(link, perRound)));
  const base = samples.get('direct')!;
  console.log(`repetition ${rep + 1} (load ${loadavg().map((l) => fmt(l, 1)).join(', ')})`);
  const added: Record<string, number> = {};
  for (const [name, t] of samples) {
    added[name] = percentile(t, 99) - percentile(base, 99);
    console.log(`  ${name.padEnd(16)} ${tail(t)}${name === 'direct' ? '' : `; added p50 +${fmt(median(t) - median(base), 0)} p99 +${fmt(added[name]!, 0)}`}`);
  }
  for (const name of Object.keys(added)) if (name !== 'direct' && name !== 'ws' && added.ws) (ratios[name] ??= []).push(added[name]! / added.ws);
}
for (const [name, r] of Object.entries(ratios)) console.log(`added p99 ${name} / ws (websockify): ${r.map((v) => fmt(v)).join(', ')}; median ${fmt(median(r))}`);
for (const link of links.values()) link.close();
for (const proxy of proxies) await proxy.stop();
echo.close();
if (sides.includes('rootowncpu')) for (const d of ['/sys/fs/cgroup/cpu/cloison-bench-parts/gateway', '/sys/fs/cgroup/cpu/cloison-bench-parts']) rmdirQuietly(d);

function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not made, or still busy */
  }
}
