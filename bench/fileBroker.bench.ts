/**
 * File broker vs `cp` followed by `sha256sum` on the same 1 GiB, in the same run, between the same
 * filesystems (the cages' home images): the broker reads in the source cage's sandbox, hashes and
 * types the bytes as it stages them in its own tmpfs, then the destination cage's sandbox copies the
 * staged file in, fsyncs and links it. Goal: throughput ratio ≥ 0.8.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from '../supervisor/policy/policyLoader';
import { Supervisor } from '../supervisor/supervisor';
import { testRoot } from '../supervisor/testing/realCage';
import { fmt, median, spread } from './lib/stats';

const SIZE = 1024 * 1024 * 1024;
const RUNS = 3;
const POLICY = `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#1b7f3b", cage: { driver: bwrap, apps: [], uid: 59961 } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#b3261e", cage: { driver: bwrap, apps: [], uid: 59962 } }
files:
  up: { decision: allow, maxFileBytes: 2147483648, maxTotalBytes: 2147483648, types: [text, unknown] }
# Nobody is at a benchmark's shell: the idle lock would stop the run half-way.
session: { lockAfterSeconds: 86400, userMayExtendUpTo: 86400 }
`;

export async function runFileBrokerBench(log: (s: string) => void): Promise<{ broker: number[]; reference: number[] }> {
  const root = testRoot('cloison-bench-files-');
  const sup = new Supervisor({ policy: parsePolicy(POLICY, 'bench'), policySource: 'bench', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
  await sup.start();
  try {
    const lowHome = join(root, 'state', 'cages', 'low', 'home');
    const src = join(lowHome, 'data.bin');
    // 1 GiB of varied bytes (not sparse, not all zeros).
    const fd = openSync(src, 'w', 0o644);
    const block = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
    for (let off = 0; off < SIZE; off += block.length) writeSync(fd, block);
    closeSync(fd);
    chmodSync(src, 0o644);
    // The reference copies between the very filesystems the broker does: the cages' home images.
    const refDir = join(root, 'state', 'cages', 'high', 'home', 'ref');
    mkdirSync(refDir);
    const broker: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      execFileSync('sync');
      let t0 = process.hrtime.bigint();
      execFileSync('sh', ['-c', `cp "$1" "$2" && sync "$2" && sha256sum "$2" > /dev/null`, 'sh', src, join(refDir, `copy-${i}`)]);
      reference.push(SIZE / 2 ** 20 / (Number(process.hrtime.bigint() - t0) / 1e9));
      rmSync(join(refDir, `copy-${i}`));

      execFileSync('sync');
      t0 = process.hrtime.bigint();
      const [result] = await sup.files.transfer('low', 'high', ['data.bin']);
      broker.push(SIZE / 2 ** 20 / (Number(process.hrtime.bigint() - t0) / 1e9));
      if (result?.outcome !== 'copied') throw new Error(`broker run failed: ${result?.reason}`);
      rmSync(join(root, 'state', 'cages', 'high', 'home', 'Incoming', 'low', result.landedAs!));
    }
    log(`  cp + sync + sha256sum: ${fmt(median(reference), 0)} MiB/s (spread ${fmt(spread(reference), 0)} %)`);
    log(`  file broker:           ${fmt(median(broker), 0)} MiB/s (spread ${fmt(spread(broker), 0)} %)`);
    return { broker, reference };
  } finally {
    await sup.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
