/**
 * A terminal's Ctrl+C sends SIGINT to its whole foreground process group: npm, start.mjs and, before
 * this test's fix, the cage manager, its cages' outer bwrap processes, slirp4netns and the shell's
 * Chromium with them. The cages then ended by themselves before anything asked their applications
 * to quit: the journal said `cage.apps.quit` "not asked" for both levels and LibreOffice showed its
 * Document Recovery at the next start. Here, `npm start -- --no-window` runs in a process group of
 * its own, as a terminal runs it, with real cages whose one application (xev, which prints every
 * event its window gets, in a file of its home) says how it ended: WM_DELETE_WINDOW received (what
 * supervisor/cages/appQuit.ts has the window manager send, as LibreOffice's close button would),
 * then its own exit; killed with its cage, neither. SIGINT to the group: both levels' applications are asked to quit and quit, then
 * everything stops. start.mjs killed with SIGKILL (no stop of its own): the manager, told by the
 * kernel (its parent-death signal), stops the same way, and nothing is left. --single likewise; the
 * terminal closed (SIGHUP to the group) likewise; and with a real shell window, its Chromium is
 * closed only after the manager has stopped (it had the group's SIGINT, and ended first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { skipWhen, skipWithReason } from '../supervisor/testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';

const LOW_UID = 56900;
const HIGH_UID = 56901;
/**
 * The application: xev's events in a file, then its status (a killed xev writes neither its last
 * events nor the status). High's takes 5 s after its window closed to end, as LibreOffice writing
 * its profile on a loaded machine: longer than the 3 s the manager gave its part to stop.
 */
const NOTE = (level: string, endsAfter = 0) => `[{ id: note, exec: [sh, -c, "xev -name note-${level} > $HOME/ended; s=$?; sleep ${endsAfter}; echo exit $s >> $HOME/ended"], autostart: true }]`;
const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: LOW_UID, apps: NOTE('low') }).replace(/ }$/, ', appQuitSeconds: 20 }'),
  high: bwrapCage({ uid: HIGH_UID, apps: NOTE('high', 5) }).replace(/ }$/, ', appQuitSeconds: 20 }'),
});

const root = new URL('..', import.meta.url).pathname;
const missing = ['xev', 'wmctrl', 'debugfs', 'npm'].filter((p) => spawnSync('sh', ['-c', `command -v ${p} || test -x /usr/sbin/${p}`]).status !== 0);
const skip = process.getuid?.() !== 0 ? 'run as root: real cages and the cage manager' : missing.length ? `missing: ${missing.join(', ')}` : !existsSync(join(root, 'out/supervisor/cageManager.js')) ? 'no out/ (npm run build)' : null;

const roots: string[] = [];
const started: ChildProcess[] = [];
function startRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-ctrlc12-'));
  roots.push(dir);
  chmodSync(dir, 0o711);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  return dir;
}

/** Processes whose command line names this start's folder, and those running as the cages' uids. */
function leftOver(dir: string): string[] {
  const out = spawnSync('ps', ['-eo', 'pid,uid,args', '--no-headers'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim() && !l.includes('ps -eo') && (l.includes(dir) || [LOW_UID, HIGH_UID].includes(Number(l.trim().split(/\s+/)[1]))));
}

/** The xev processes running as a cage's uid. */
function notesOf(uid: number): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() !== 'xev') return [];
      return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1]) === uid ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

/** How the application ended, from what it wrote in its home (read from the home's image, unmounted by then). */
function ended(dir: string, level: string): string {
  const r = spawnSync('debugfs', ['-R', 'cat /ended', join(dir, 's', 'cages', level, 'home.img')], { encoding: 'utf8' });
  const deleted = /WM_DELETE_WINDOW/.test(r.stdout);
  const status = /^exit (\d+)$/m.exec(r.stdout)?.[1];
  return `${deleted ? 'WM_DELETE_WINDOW received' : 'no WM_DELETE_WINDOW'}, ${status === undefined ? 'no exit of its own' : `exit ${status}`}`;
}

/** The `cage.apps.quit` records of a journal: level → outcome. */
function quitRecords(journal: string): Record<string, { outcome: string; windows: number; reason?: string }> {
  const records = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return Object.fromEntries(records.filter((r) => r.kind === 'cage.apps.quit').map((r) => [r.level as string, r as unknown as { outcome: string; windows: number; reason?: string }]));
}

/** `npm start -- --no-window …` in a process group of its own (a terminal's foreground job). */
function npmStart(dir: string, extra: string[] = [], window?: { user: string }): { child: ChildProcess; out: () => string } {
  const args = ['start', '--silent', '--', ...(window ? [] : ['--no-window']), '--policy', join(dir, 'policy.yaml'), '--state-dir', join(dir, 's'), '--run-dir', join(dir, 'r'), ...extra];
  const child = spawn('npm', args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(window ? { SUDO_USER: window.user } : {}) } });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  return { child, out: () => out };
}

async function whenNotesShown(out: () => string): Promise<void> {
  await waitFor(() => /cage high: running/.test(out()) && /cage low: running/.test(out()), 'both cages running', 90_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}; output: ${out()}`);
  });
  await waitFor(() => notesOf(LOW_UID).length === 1 && notesOf(HIGH_UID).length === 1, 'each cage\'s application on its screen', 60_000, 200);
  // Its window mapped and managed (wmctrl lists it) a moment after the process starts.
  await new Promise((r) => setTimeout(r, 3000));
}

/** start.mjs's node in npm's group (npm's shell runs it, or executes it: package.json's `exec node`). */
function startMjsOf(npm: ChildProcess): number {
  const pids = spawnSync('pgrep', ['-g', String(npm.pid), '-f', '^node scripts/start\\.mjs'], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).filter(Boolean);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

/** The account the shell's Chromium runs as in tests (scripts/setup.sh makes it). */
const TEST_USER = 'cloison-shell-test';

/** Whether a process runs (a zombie counts as ended). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether `pid` descends from `ancestor`. */
function descends(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === ancestor) return true;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}

const CLOSED = 'WM_DELETE_WINDOW received, exit 0';
const exitOf = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

/** After a stop: both levels' applications were asked to quit and closed by themselves, and nothing of the stack is left. */
async function expectQuitThenGone(dir: string, journal: string, out: () => string, withinMs: number): Promise<void> {
  await waitFor(() => leftOver(dir).length === 0, 'the manager, its part and the cages gone', withinMs, 200).catch((err: Error) => {
    throw new Error(`${err.message}: ${leftOver(dir).join('\n')}`);
  });
  const quit = quitRecords(join(dir, journal, 'audit.jsonl'));
  expect({ low: quit.low?.outcome, high: quit.high?.outcome }, `${JSON.stringify(quit)}\n${out()}`).toEqual({ low: 'all quit', high: 'all quit' });
  expect({ low: ended(dir, 'low'), high: ended(dir, 'high') }).toEqual({ low: CLOSED, high: CLOSED });
}

describe('Ctrl+C in the terminal that ran npm start', skipWhen(skip), () => {
  afterEach(async () => {
    for (const child of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const dir of roots.splice(0)) {
      let gone = await waitFor(() => leftOver(dir).length === 0, 'nothing left', 30_000, 200).then(() => true, () => false);
      if (!gone) {
        // A manager or supervisor nothing stopped (the code before this test's fix): its own stop, cages included.
        for (const line of leftOver(dir).filter((l) => /out\/supervisor\/(cageManager|main)\.js/.test(l))) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGINT');
        gone = await waitFor(() => leftOver(dir).length === 0, 'nothing left', 60_000, 200).then(() => true, () => false);
      }
      // Never removed through a mount left behind (a home's image, the media root): said, and left for a person.
      const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
      if (gone && mounted.length === 0) rmSync(dir, { recursive: true, force: true });
      else process.stderr.write(`startCtrlC.test.ts: ${dir} left (processes: ${leftOver(dir).length}, mounts: ${mounted.length})\n`);
    }
  }, 120_000);

  for (const mode of [{ name: 'split', args: [], journal: 's-broker' }, { name: '--single', args: ['--single'], journal: 's' }]) {
    it(`${mode.name}: SIGINT to the whole group asks both cages' applications to quit (they close), then stops everything`, async () => {
      const dir = startRoot();
      const { child, out } = npmStart(dir, mode.args);
      await whenNotesShown(out);
      process.kill(-child.pid!, 'SIGINT');
      const code = await exitOf(child);
      expect(code).toBe(130);
      await expectQuitThenGone(dir, mode.journal, out, 30_000);
    }, 240_000);
  }

  it('the terminal closed (SIGHUP to the group): the same stop, applications asked to quit first', async () => {
    const dir = startRoot();
    const { child, out } = npmStart(dir);
    await whenNotesShown(out);
    process.kill(-child.pid!, 'SIGHUP');
    await exitOf(child); // npm itself ends of the hangup; start.mjs goes on stopping
    await expectQuitThenGone(dir, 's-broker', out, 60_000);
  }, 240_000);

  const testUid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout.trim() || NaN);
  it('with a window: the group\'s SIGINT does not reach the shell\'s Chromium, closed once the manager has stopped', async (ctx) => {
    if (!process.env.DISPLAY) skipWithReason(ctx, 'no display to open Chromium on (run under xvfb-run)');
    if (Number.isNaN(testUid)) skipWithReason(ctx, `no ${TEST_USER} account (scripts/setup.sh makes it)`);
    const dir = startRoot();
    const { child, out } = npmStart(dir, [], { user: TEST_USER });
    await whenNotesShown(out);
    const pidsOf = (marker: string) => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return argv.includes(marker) && !argv.includes('--type=');
      } catch {
        return false;
      }
    });
    await waitFor(() => pidsOf(`--user-data-dir=${tmpdir()}/cloison-shell-`).some((p) => descends(Number(p), child.pid!)), 'the shell\'s Chromium', 60_000, 100);
    const chromium = pidsOf(`--user-data-dir=${tmpdir()}/cloison-shell-`).find((p) => descends(Number(p), child.pid!))!;
    const manager = pidsOf(join(dir, 'r-code', 'out/supervisor/cageManager.js'))[0]!;
    expect(manager).toBeDefined();
    process.kill(-child.pid!, 'SIGINT');
    const endedAt: Record<string, number> = {};
    await waitFor(() => {
      for (const [name, pid] of [['manager', manager], ['chromium', chromium]] as const) if (endedAt[name] === undefined && !alive(Number(pid))) endedAt[name] = Date.now();
      return endedAt.manager !== undefined && endedAt.chromium !== undefined;
    }, 'the manager and Chromium ended', 90_000, 20);
    expect(endedAt.chromium! - endedAt.manager!, 'Chromium ended before the manager (the group\'s SIGINT reached it)').toBeGreaterThanOrEqual(0);
    const quit = quitRecords(join(dir, 's-broker', 'audit.jsonl'));
    expect({ low: quit.low?.outcome, high: quit.high?.outcome }, JSON.stringify(quit)).toEqual({ low: 'all quit', high: 'all quit' });
    expect(await exitOf(child)).toBe(130);
  }, 240_000);

  it('SIGINT to start.mjs alone: both levels\' applications asked to quit, high\'s slow one waited for', async () => {
    const dir = startRoot();
    const { child, out } = npmStart(dir);
    await whenNotesShown(out);
    process.kill(startMjsOf(child), 'SIGINT');
    const code = await exitOf(child);
    expect(code).toBe(130);
    await expectQuitThenGone(dir, 's-broker', out, 30_000);
  }, 240_000);

  it('start.mjs killed (SIGKILL): the manager stops by itself, applications asked to quit first, nothing left', async () => {
    const dir = startRoot();
    const { child, out } = npmStart(dir);
    await whenNotesShown(out);
    process.kill(startMjsOf(child), 'SIGKILL');
    await expectQuitThenGone(dir, 's-broker', out, 60_000);
  }, 240_000);
});
