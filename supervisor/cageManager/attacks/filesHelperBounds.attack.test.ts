/**
 * Attack (review of the cage manager's files.helper executor, issue #29): the serving file helper
 * (fileHelper.mjs `serve`) stages every write's data in its sandbox's /tmp before the part commits
 * it, a write's data up to 96 MiB in one JSON line, with nothing bounding how many writes stay
 * staged uncommitted; that /tmp was a tmpfs of no given size, and the helpers ran as the manager's
 * children in its own control group, outside any memory or task limit. A part holding writes
 * uncommitted fills the machine's memory from root's side.
 *
 * Here the policy lets at most 1 MiB a file (every direction), a real `cloison`-account part asks
 * low's helper and sends a write one byte past that, then six writes of 700 KiB it never commits.
 * Expected: the oversized write refused, no more staged at once than the policy's largest file
 * (the first held write staged, the others refused), the helper's /tmp a tmpfs of a size near that
 * bound, and the helper in a control group of its own with a memory and a task limit.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMountPoint } from '../../cages/cageMounts';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { filesHelperExecutor } from '../filesHelperExecutor';

const LOW_UID = 58826;
const LIMIT = 1024 * 1024;
const POLICY = twoLevelPolicy(
  { low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: 58827 }) },
  `files:
  up: { maxFileBytes: ${LIMIT} }
  down: { maxFileBytes: ${LIMIT} }
  lateral: { maxFileBytes: ${LIMIT} }
`,
);

let manager: ServedManager;
let helpers: ReturnType<typeof filesHelperExecutor>;
const home = () => join(manager.folders.stateDir, 'cages', 'low', 'home');

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-fhb-',
    policy: POLICY,
    executors: ({ policy, folders, part }) => ({ 'files.helper': (helpers = filesHelperExecutor({ policy, ...folders, part })) }),
  });
  mkdirSync(home(), { recursive: true });
  // A small home of its own (a tmpfs stands for the level's mounted image).
  expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', home()]).status).toBe(0);
  chownSync(home(), LOW_UID, LOW_UID);
}, 60_000);

afterAll(async () => {
  await manager?.close(() => {
    helpers?.stop();
    if (isMountPoint(home())) spawnSync('umount', ['-l', home()]);
  });
});

const children = (pid: number) => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);

/** What the serving helper runs under, read while its channel is open: its /tmp mount and its control group's limits. */
function helperFacts(): { tmp: string; cgroup: string; memoryMax: string; pidsMax: string } {
  const bwrap = spawnSync('pgrep', ['-P', String(process.pid), '-f', `bwrap.*${home()}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)[0];
  if (!bwrap) throw new Error('no serving helper found');
  // bwrap, its pid 1 (bwrap again), then the helper.
  const helper = children(bwrap).flatMap(children)[0] ?? children(bwrap)[0]!;
  const tmp = readFileSync(`/proc/${helper}/mounts`, 'utf8').split('\n').find((l) => l.split(' ')[1] === '/tmp') ?? '';
  // cgroup v2's one line (0::path), or v1's memory and pids controllers' lines.
  const lines = readFileSync(`/proc/${bwrap}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const pathOf = (controller: string) => lines.find((l) => l[1]!.split(',').includes(controller))?.[2] ?? null;
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return '(none)';
    }
  };
  const v2 = lines.find((l) => l[0] === '0')?.[2] ?? '/';
  const v1Memory = pathOf('memory');
  const v1Pids = pathOf('pids');
  if (v1Memory !== null && v1Pids !== null) {
    return { tmp, cgroup: `memory:${v1Memory} pids:${v1Pids}`, memoryMax: read(join('/sys/fs/cgroup/memory', v1Memory, 'memory.limit_in_bytes')), pidsMax: read(join('/sys/fs/cgroup/pids', v1Pids, 'pids.max')) };
  }
  return { tmp, cgroup: v2, memoryMax: read(join('/sys/fs/cgroup', v2, 'memory.max')), pidsMax: read(join('/sys/fs/cgroup', v2, 'pids.max')) };
}

type Report = { level: string; uid: number; error?: string; answers?: Array<{ out: string; exit: number; stderr: string }> };

describe('files.helper staging writes the part does not commit', () => {
  it('stages no more than the policy\'s largest file, in a sized /tmp, in a limited control group', async () => {
    const write = (name: string, bytes: number, hold = true) => ({ mode: 'write', args: ['', name], dataBytes: bytes, hold });
    const asks = [{ level: 'low', uid: LOW_UID, keep: true, requests: [write('oversized.txt', LIMIT + 1, false), ...[1, 2, 3, 4, 5, 6].map((i) => write(`held-${i}.txt`, 700 * 1024))] }];
    const reports: Report[] = [];
    let facts: ReturnType<typeof helperFacts> | null = null;
    await manager.runPart(join(__dirname, '../../testing/filesHelperRequester.ts'), { managerSocket: manager.socketPath, asks }, {
      message: (m) => {
        if (m.type !== 'report') return;
        reports.push(m as unknown as Report);
        facts = helperFacts();
      },
    });
    await manager.stopPart();
    const answers = reports[0]!.answers!;
    console.log(`the oversized write: ${JSON.stringify({ exit: answers[0]!.exit, stderr: answers[0]!.stderr })}; six held writes of 700 KiB: ${answers.slice(1).map((a) => `${a.exit} ${a.stderr}`).join(' | ')}; the helper: ${JSON.stringify(facts)}`);
    expect(reports[0]!.error).toBeUndefined();
    expect(answers[0]!.exit).toBe(2);
    const held = answers.slice(1);
    expect(held.filter((a) => a.exit === -1)).toHaveLength(1);
    expect(held.slice(1).every((a) => a.exit === 2)).toBe(true);
    const size = Number(/size=(\d+)k/.exec(facts!.tmp)?.[1] ?? NaN) * 1024;
    expect(size, facts!.tmp).toBeLessThanOrEqual(LIMIT + 2 * 1024 * 1024);
    // A limit of the helpers' own (v1's unlimited memory reads as a number near 2^63).
    expect(Number(facts!.memoryMax)).toBeLessThan(2 ** 40);
    expect(facts!.pidsMax).toMatch(/^\d+$/);
    // Nothing was committed: no file under a name in the home (the held write's partial copy at most, gone with its helper).
    expect(spawnSync('find', [home(), '-type', 'f', '!', '-name', '.cloison-partial-*'], { encoding: 'utf8' }).stdout.trim()).toBe('');
  }, 60_000);
});
