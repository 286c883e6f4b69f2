/**
 * The sound part as the cloison part starts it (not root: sandbox/partProcess.ts's unprivileged
 * path), its code a fork bomb in a session of its own, with the sound part's limits (256 MiB, 128
 * tasks). The cloison part is a real one (cageManager/cloisonPart.ts, as root here as the manager
 * starts it, dropped to a test account). Seen before (no `delegate`): the sound part had no group
 * of its own — it shared the cloison part's, its limits applied nowhere. Now its group is below
 * the cloison part's (whose folders root gave to its account, never their files), with its own
 * limits: the bomb stops at 128 tasks, the cloison part runs on; the sound part killed, the bomb
 * and its group go before it starts again; the cloison part stopped, everything below it goes.
 * A compromised cloison part that hides a process of its own twelve groups below its own: gone
 * with the part (seen surviving when the groups below were looked for eight levels deep only).
 */
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloisonPart, type CloisonPartMessage } from '../cageManager/cloisonPart';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import type { UnprivilegedPart } from './partProcess';

/** audio/soundPart.ts's PART_LIMITS. */
const SOUND_LIMITS = { memoryBytes: 256 * 2 ** 20, tasks: 128 };
const TOKEN = `cloison-delegated-bomb-${process.pid}`;

let user: PamTestUser;
let parent: UnprivilegedPart<CloisonPartMessage, unknown> | null = null;
const reports: CloisonPartMessage[] = [];

function processesNamed(token: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(token);
      } catch {
        return false;
      }
    })
    .map(Number);
}
const procsOf = (dir: string) => (existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : []);
const fileIn = (dirs: string[], file: string) => {
  const dir = dirs.find((d) => existsSync(join(d, file)));
  return dir ? readFileSync(join(dir, file), 'utf8').trim() : null;
};
const starts = () => reports.filter((r) => r.step === 'started') as Array<CloisonPartMessage & { pid: number; dirs: string[]; uid: number }>;

beforeAll(() => {
  user = createPamTestUser();
});

afterAll(async () => {
  await parent?.stop();
  for (const pid of processesNamed(TOKEN)) process.kill(pid, 'SIGKILL');
  user?.remove();
});

describe('the sound part started by the cloison part', () => {
  it('runs in a group of its own below the cloison part\'s, with its limits; a fork bomb in it stops at its task limit and ends with it', async () => {
    const root = testRoot('cloison-delegated-');
    chmodSync(root, 0o755);
    const bomb = join(root, 'bomb.mjs');
    // Each process forks for ever; refused, it tries again a second later (no spinning on the shared machine).
    writeFileSync(bomb, `import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
const send = (v) => { const b = Buffer.from(JSON.stringify(v)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b])); };
spawn('perl', ['-e', '$SIG{CHLD} = "IGNORE"; $0 = "${TOKEN}"; while (1) { defined(fork) or sleep 1 }'], { detached: true, stdio: 'ignore' }).unref();
send({ type: 'ready' });
setInterval(() => undefined, 60_000);
`);
    chmodSync(bomb, 0o644);
    const logs: string[] = [];
    parent = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '..', 'testing', 'partStartingPart.ts') },
      account: () => user,
      start: { script: bomb, limits: SOUND_LIMITS },
      message: (m) => void reports.push(m),
      log: (msg, fields) => void logs.push(`${msg} ${JSON.stringify(fields)}`),
    });
    await parent.start();
    await waitFor(() => starts().length === 1, 'the sound part started', 20_000);
    const first = starts()[0]!;
    const parentDirs = parent.cgroupDirs;
    console.log(`cloison part's group: ${parentDirs.join(', ')}\nsound part's group: ${first.dirs.join(', ') || '(none: it shares the cloison part\'s)'}\n${reports.filter((r) => r.step === 'log').map((r) => JSON.stringify(r)).join('\n')}`);
    expect(first.uid).toBe(user.uid);
    // Its own group, below the cloison part's, with the sound part's limits.
    expect(first.dirs.length).toBeGreaterThan(0);
    for (const dir of first.dirs) expect(parentDirs.some((p) => dir.startsWith(`${p}/`))).toBe(true);
    expect(fileIn(first.dirs, 'pids.max')).toBe(String(SOUND_LIMITS.tasks));
    expect(fileIn(first.dirs, 'memory.limit_in_bytes') ?? fileIn(first.dirs, 'memory.max')).toBe(String(SOUND_LIMITS.memoryBytes));
    expect(first.dirs.flatMap(procsOf)).toContain(first.pid);
    expect(parentDirs.flatMap(procsOf)).not.toContain(first.pid);
    // The cloison part's own limits stay root's: its group's files are not its account's.
    for (const dir of parentDirs) expect(statSync(join(dir, 'cgroup.procs')).uid).toBe(0);
    expect(statSync(join(parentDirs.find((d) => existsSync(join(d, 'pids.max')))!, 'pids.max')).uid).toBe(0);

    // The bomb stops at the sound part's task limit; the cloison part runs on.
    const pidsDir = first.dirs.find((d) => existsSync(join(d, 'pids.current')))!;
    await waitFor(() => Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8')) >= SOUND_LIMITS.tasks - 2, 'the bomb at the sound part\'s task limit', 20_000);
    expect(Number(readFileSync(join(pidsDir, 'pids.current'), 'utf8'))).toBeLessThanOrEqual(SOUND_LIMITS.tasks);
    expect(processesNamed(TOKEN).length).toBeGreaterThan(64);
    expect(parent.ready).toBe(true);

    // The sound part killed: the bomb and its group go before it starts again, in a fresh group.
    process.kill(first.pid, 'SIGKILL');
    await waitFor(() => starts().length === 2, 'the sound part started again', 20_000);
    const second = starts()[1]!;
    expect(second.dirs).not.toEqual(first.dirs);
    for (const dir of first.dirs) expect(existsSync(dir)).toBe(false);

    // The cloison part stopped: everything below its group goes with it.
    const bombs = processesNamed(TOKEN).length;
    await parent.stop();
    await waitFor(() => processesNamed(TOKEN).length === 0, 'no bomb left', 20_000);
    console.log(`bombs before the cloison part's stop: ${bombs}; after: 0; folders left: ${[...second.dirs, ...parentDirs].filter((d) => existsSync(d)).join(', ') || 'none'}`);
    for (const dir of [...second.dirs, ...parentDirs]) expect(existsSync(dir)).toBe(false);
    expect(logs.filter((l) => /failed|misbehaved/.test(l))).toEqual([]);
  }, 180_000);

  it('a process the cloison part hides deep below its group ends with the cloison part', async () => {
    const root = testRoot('cloison-delegated-');
    chmodSync(root, 0o755);
    const idle = join(root, 'idle.mjs');
    writeFileSync(idle, `import { writeSync } from 'node:fs';
const b = Buffer.from(JSON.stringify({ type: 'ready' })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b]));
setInterval(() => undefined, 60_000);
`);
    chmodSync(idle, 0o644);
    const hidden = `${TOKEN}-hidden`;
    reports.length = 0;
    parent = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '..', 'testing', 'partStartingPart.ts') },
      account: () => user,
      start: { script: idle, limits: SOUND_LIMITS, hide: hidden },
      message: (m) => void reports.push(m),
    });
    await parent.start();
    await waitFor(() => reports.some((r) => r.step === 'hidden'), 'the sleeper hidden', 20_000);
    const { pid, cgroup } = reports.find((r) => r.step === 'hidden') as CloisonPartMessage & { pid: number; cgroup: string };
    expect(cgroup).toMatch(/:pids:.*(\/h){12}$/m);
    const dirs = parent.cgroupDirs;
    await parent.stop();
    await waitFor(() => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 'the hidden sleeper gone', 10_000).catch(() => undefined);
    const alive = processesNamed(hidden);
    console.log(`hidden sleeper ${pid} after the cloison part's stop: ${alive.length ? 'alive' : 'gone'}; folders left: ${dirs.filter((d) => existsSync(d)).length}`);
    expect(alive).toEqual([]);
    for (const dir of dirs) expect(existsSync(dir)).toBe(false);
  }, 60_000);
});
