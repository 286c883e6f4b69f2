/**
 * Levers the gateway's latency audit (gatewayLatencyAudit.ts, #29) pulls on the benchmark's
 * browser child, each from an environment variable, none of them the product's:
 * - BENCH_CPU: where the child sits in the cgroup v1 cpu controller. Unset, its own group's
 *   (as the product's browser part); `outside`: its group's other controllers only (memory, pids,
 *   freezer), the cpu controller's group its parent's; `shares:N`: its group with cpu.shares N;
 *   `dir:PATH`: its cpu group PATH (made), e.g. one beside `cloison` rather than below it.
 * - BENCH_GC_LOG=1: the child prints every garbage collection (kind:ms) when it is stopped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import type { ControlGroup } from '../../supervisor/sandbox/partCgroup';

const isCpu = (dir: string) => dir.startsWith('/sys/fs/cgroup/cpu/');

/** The command-line prefix that puts the child in `group`, as BENCH_CPU says. */
export function childGroupPrefix(group: ControlGroup | null): string[] {
  const lever = process.env.BENCH_CPU ?? '';
  if (!group || !lever) return group?.joinPrefix ?? [];
  // joinPrefix is `sh -c SCRIPT NAME FILE… --`: the files replaced, the rest kept.
  const join_ = (dirs: string[]) => [...group.joinPrefix.slice(0, 4), ...dirs.map((d) => join(d, 'cgroup.procs')), '--'];
  if (lever === 'outside') return join_(group.dirs.filter((d) => !isCpu(d)));
  if (lever.startsWith('shares:')) {
    for (const d of group.dirs.filter(isCpu)) writeFileSync(join(d, 'cpu.shares'), lever.slice('shares:'.length));
    return group.joinPrefix;
  }
  if (lever.startsWith('dir:')) {
    const dir = lever.slice('dir:'.length);
    mkdirSync(dir, { recursive: true });
    return join_(group.dirs.map((d) => (isCpu(d) ? dir : d)));
  }
  throw new Error(`BENCH_CPU: unknown lever ${lever}`);
}

/** In the child, before its restriction: BENCH_GC_LOG. */
export function childLevers(): void {
  if (process.env.BENCH_GC_LOG === '1') {
    const seen: string[] = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => seen.push(`${(e as unknown as { detail: { kind: number } }).detail.kind}:${e.duration.toFixed(3)}`))).observe({ entryTypes: ['gc'] });
    process.on('SIGTERM', () => process.stderr.write(`gc ${seen.length}: ${seen.join(' ')}\n`));
  }
}
