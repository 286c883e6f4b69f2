/**
 * What holds the shell page's JavaScript heap (not a benchmark: no reference, no goal): one shell
 * session as apps-memory reads it (the split, npm start's shell flags, a DevTools port: the
 * detachable session of lib/shellSession.ts), once both levels' viewers are connected; then, through
 * DevTools, a collection and each page's heap (the shell's page and each viewer's frame: V8's used
 * and total size), and a heap snapshot of the shell's page summed by what holds the bytes (V8's
 * node type, and for objects their constructor), largest first.
 *
 *   xvfb-run -a node --import tsx bench/shellHeapProfile.ts
 */
import { chmodSync, rmSync } from 'node:fs';
import type { CDPSession, Frame, Page } from '@playwright/test';
import { testRoot } from '../supervisor/testing/realCage';
import { benchPolicy, openShellSession, useNpmStartMode } from './lib/shellSession';

const TOP = 25;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** The snapshot's self sizes summed by node type and, for objects, name (their constructor): "type name" → bytes, count. */
function summarise(s: Snapshot): Array<[string, { bytes: number; count: number }]> {
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const by = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + typeAt]!]!;
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${s.strings[s.nodes[i + nameAt]!]!.slice(0, 60)}` : type;
    const e = by.get(key) ?? { bytes: 0, count: 0 };
    e.bytes += s.nodes[i + sizeAt]!;
    e.count++;
    by.set(key, e);
  }
  return [...by].sort((a, b) => b[1].bytes - a[1].bytes);
}

async function heapOf(cdp: CDPSession): Promise<string> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
  return `${(usedSize / 2 ** 20).toFixed(1)} MiB used of ${(totalSize / 2 ** 20).toFixed(1)}`;
}

async function snapshotOf(cdp: CDPSession): Promise<Snapshot> {
  const chunks: string[] = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (e: { chunk: string }) => chunks.push(e.chunk));
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  return JSON.parse(chunks.join('')) as Snapshot;
}

async function main(): Promise<void> {
  useNpmStartMode();
  const root = testRoot('cloison-bench-heap-');
  chmodSync(root, 0o711);
  try {
    await profile(root);
  } finally {
    // Also when npm start failed before the session was open.
    rmSync(root, { recursive: true, force: true });
  }
}

async function profile(root: string): Promise<void> {
  // BENCH_SUPERVISOR_LOG: a file for npm start's log (at level info), to read why a start failed.
  const session = await openShellSession(root, benchPolicy(root), undefined, process.env.BENCH_SUPERVISOR_LOG, true);
  try {
    const page: Page = session.page;
    for (const level of ['low', 'high']) await page.locator(`[data-testid=cage-frame-${level}][data-viewer=connected]`).waitFor({ state: 'attached', timeout: 180_000 });
    await new Promise((r) => setTimeout(r, 10_000));
    const shell = await page.context().newCDPSession(page);
    console.log(`the shell's page: ${await heapOf(shell)}`);
    for (const level of ['low', 'high']) {
      const frame: Frame | null | undefined = await (await page.$(`[data-testid=viewer-frame-${level}]`))?.contentFrame();
      if (frame) console.log(`the ${level} viewer's frame: ${await heapOf(await page.context().newCDPSession(frame))}`);
    }
    const summary = summarise(await snapshotOf(shell));
    const total = summary.reduce((sum, [, e]) => sum + e.bytes, 0);
    console.log(`the shell page's snapshot: ${(total / 2 ** 20).toFixed(2)} MiB of self sizes; the ${TOP} largest holders (KiB, count):`);
    for (const [key, e] of summary.slice(0, TOP)) console.log(`  ${(e.bytes / 1024).toFixed(0).padStart(7)}  ${String(e.count).padStart(6)}  ${key}`);
  } finally {
    await session.close();
  }
}

await main();
