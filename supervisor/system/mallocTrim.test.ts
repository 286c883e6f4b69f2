/**
 * What a process freed inside malloc's heap is given back to the system by trimMalloc: a Node
 * child fills its C heap with buffers below malloc's mmap threshold, keeps the last one (so the
 * freed pages are not at the heap's top, which glibc returns by itself), lets the rest be
 * collected, and reads its own private dirty pages before and after the trim.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CHILD = `
import { readFileSync } from 'node:fs';
import { trimMalloc } from './supervisor/system/mallocTrim.ts';
const dirty = () => Number(/^Private_Dirty:\\s+(\\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);
let held = [];
for (let i = 0; i < 1600; i++) held.push(Buffer.alloc(60 * 1024, 1));
const kept = Buffer.alloc(60 * 1024, 2);
held = null;
globalThis.gc(); globalThis.gc();
await new Promise((r) => setTimeout(r, 100));
const before = dirty();
const trimmed = trimMalloc();
const after = dirty();
console.log(JSON.stringify({ before, after, trimmed, kept: kept.length }));
`;

describe('trimMalloc', () => {
  it('gives the freed pages of the C heap back (tens of MiB here)', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const { before, after, trimmed } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: number; after: number; trimmed: boolean };
    expect(trimmed).toBe(true);
    // ~94 MiB were freed; at least 40 MiB of them must leave the process's private pages.
    expect(before - after).toBeGreaterThan(40 * 1024);
  });
});
