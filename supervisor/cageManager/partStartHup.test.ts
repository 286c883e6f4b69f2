/**
 * `systemctl reload cloison-cage-manager` while the manager's real `cloison` part is starting (the
 * bundles, as the unit runs them): SIGHUP's default ends a process that has not set its handler yet,
 * and a first start that ends is not started again, leaving the workstation without its shell. Seen
 * before (the signal sent the moment the part's process appeared): "cloison part did not start …
 * (SIGHUP)". Now the manager passes it on only once the part is ready, and at its ready if one came
 * meanwhile (managerSighup.ts): the part starts, and reloads the manager's text.
 */
import { chmodSync, existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuiltManager, type BuiltManager } from '../testing/builtManager';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58641 }), high: bwrapCage({ uid: 58642 }) });
let root: string;
let manager: BuiltManager;
let hupAt: number | null = null;

/** The manager's child running the part's bundle, once there is one (its cgroup wrapper's command line names it too). */
function partPid(): number | null {
  let children: string[];
  try {
    children = readFileSync(`/proc/${manager.process.pid}/task/${manager.process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return null;
  }
  for (const pid of children) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cloisonPart.js')) return Number(pid);
    } catch {
      // ended meanwhile
    }
  }
  return null;
}

beforeAll(async () => {
  root = testRoot('cloison-parthup-');
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), POLICY);
  // Settled: the manager takes it at the SIGHUP.
  utimesSync(join(root, 'p.yaml'), new Date(Date.now() - 2000), new Date(Date.now() - 2000));
  manager = startBuiltManager(['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--port', '0', '--log-level', 'info']);
  // The reload sent the moment the part's process exists, long before its supervisor has loaded.
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const look = () => {
      if ((hupAt = partPid()) !== null || manager.process.exitCode !== null) return resolve();
      if (Date.now() > deadline) return reject(new Error(`the part never spawned: ${manager.stderr()}`));
      setImmediate(look);
    };
    look();
  });
  manager.process.kill('SIGHUP');
  await waitFor(() => manager.lines.some((l) => l.ready === true || l.partFailed === true) || manager.process.exitCode !== null, "the part's ready (or failed) line", 120_000, 100);
}, 200_000);

afterAll(async () => {
  await manager?.stop();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('systemctl reload while the part starts', () => {
  it("the part is not ended by it: it starts, and reloads the manager's text at its ready", async () => {
    expect(hupAt).not.toBeNull();
    expect(manager.stderr()).not.toMatch(/cloison part did not start/);
    expect(manager.lines.find((l) => l.partFailed === true)).toBeUndefined();
    expect(manager.lines.some((l) => l.ready === true)).toBe(true);
    const journal = join(root, 'state-broker', 'audit.jsonl');
    const reloads = () => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === 'policy.reload') : []);
    await waitFor(() => reloads().length > 0, "the part's policy.reload record", 30_000, 100);
    expect(reloads()).toEqual([expect.objectContaining({ decision: 'unchanged' })]);
  }, 60_000);
});
