/**
 * One Cloison session exactly as `sudo npm start` runs it: start.mjs opens its own Chromium
 * (headful --app, sandboxed, as the shell's user) on the display. Nothing drives that browser: the
 * applications' paints are read in the cages (lib/paintWatch.ts), level switches are the user's
 * own keys (Ctrl+Alt+PageDown typed with xdotool on the display) and read back from the journal.
 * Unlike a Playwright-driven Chromium (--no-sandbox, an extra renderer of its own for its first
 * page), this is the browser the user has.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { outputTail } from '../../scripts/shellWindowEnd.mjs';
import { PAINTED_SHARE, xLightShare } from './paintWatch';
import { cageX11Dir, supervisorStateDirOf, writeSupervisorState } from './shellSession';

/** The account start.mjs runs the shell's Chromium as (scripts/setup.sh makes it). */
export const SHELL_USER = 'cloison-shell-test';

/** Why the product path cannot run here, or null. */
export function productPathMissing(): string | null {
  if (!process.env.DISPLAY) return 'no display (run under xvfb-run)';
  if (spawnSync('id', ['-u', SHELL_USER]).status !== 0) return `no ${SHELL_USER} account (scripts/setup.sh makes it)`;
  return null;
}

export interface ProductSession {
  t0: number;
  start: ChildProcess;
  /** Waits until each level's application has painted in its cage; ms from t0 per level. */
  appsPainted(levels: readonly string[], limitMs: number): Promise<Record<string, number>>;
  /** Switches to the next level with the user's keys; resolves once the journal has the switch to `to`. */
  switchTo(to: string, limitMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** Node's flags in package.json's start script (`node FLAGS… scripts/start.mjs`): npm start's own. */
export function npmStartNodeFlags(): string[] {
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^(?:exec )?node((?: --\S+)*) scripts\/start\.mjs$/.exec(script);
  if (!m) throw new Error(`package.json's start script is not node [flags] scripts/start.mjs: ${script}`);
  return m[1]!.split(' ').filter(Boolean);
}

/**
 * `split`: npm start's own default (the cage manager and its `cloison` part) when true, the root
 * supervisor alone (--single) when false; unsaid, what CLOISON_SPLIT says (bench/run.ts: single).
 */
export function openProductSession(root: string, policy: string, options: { split?: boolean } = {}): ProductSession {
  const split = options.split ?? process.env.CLOISON_SPLIT !== '0';
  // Split, the part (cloison) reaches its folders and the policy under root.
  if (split) chmodSync(root, 0o711);
  // The user's trust phrase is chosen (as after their first start): its dialog would cover the band.
  writeSupervisorState(root, 'trust-phrase.json', JSON.stringify({ phrase: 'Le héron pêche à l’aube', symbol: '◆' }), split);
  const t0 = Date.now();
  // BENCH_START_LOG=FILE: npm start's messages (its supervisor's log at info, JSON lines with their times) appended to FILE.
  const logFile = process.env.BENCH_START_LOG;
  const logFd = logFile ? openSync(logFile, 'a') : null;
  if (logFd !== null) writeSync(logFd, `${JSON.stringify({ benchStart: t0 })}\n`);
  // Otherwise its stderr kept (the last lines): npm start ending during a start says why there
  // (issue #26: the shell's Chromium's status and last lines), printed with the benchmark's own failure.
  const start = spawn(process.execPath, [...npmStartNodeFlags(), 'scripts/start.mjs', split ? '--split' : '--single', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], {
    stdio: logFd === null ? ['ignore', 'ignore', 'pipe'] : ['ignore', logFd, logFd],
    env: { ...process.env, SUDO_USER: SHELL_USER, ...(logFd === null ? {} : { CLOISON_LOG_LEVEL: 'info' }) },
  });
  if (logFd !== null) closeSync(logFd);
  const said = outputTail([start.stderr], 40);
  let closing = false;
  const exited = new Promise((r) => start.once('exit', r));
  start.once('exit', (code, signal) => {
    if (closing) return;
    void said.settled().then(() => console.error(`  npm start ended by itself during the start (${signal ?? `status ${code}`}); the last lines of its stderr:\n${said.lines().map((l) => `    ${l}`).join('\n')}`));
  });
  const journal = join(supervisorStateDirOf(root, split), 'audit.jsonl');
  const switchesTo = (to: string) =>
    existsSync(journal)
      ? readFileSync(journal, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"kind":"level.switch"') && l.includes(`"to":"${to}"`)).length
      : 0;
  return {
    t0,
    start,
    async appsPainted(levels, limitMs) {
      const painted: Record<string, number> = {};
      for (const deadline = t0 + limitMs; levels.some((l) => painted[l] === undefined); await new Promise((r) => setTimeout(r, 250))) {
        if (start.exitCode !== null) throw new Error('npm start ended before the applications painted');
        if (Date.now() > deadline) throw new Error(`the applications did not paint in their cages within ${limitMs / 1000} s (so far ${JSON.stringify(painted)})`);
        for (const level of levels) if (painted[level] === undefined && xLightShare(':0', cageX11Dir(root, level)) >= PAINTED_SHARE) painted[level] = Date.now() - t0;
      }
      return painted;
    },
    async switchTo(to, limitMs = 15_000) {
      const before = switchesTo(to);
      const deadline = Date.now() + limitMs;
      // Typed again until it lands: the shell's window may not have the focus yet.
      while (switchesTo(to) === before) {
        if (Date.now() > deadline) throw new Error(`the shell did not switch to ${to} on Ctrl+Alt+PageDown within ${limitMs / 1000} s`);
        spawnSync('xdotool', ['search', '--onlyvisible', '--class', 'chromium', 'windowfocus', 'key', 'ctrl+alt+Next'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 500));
      }
      return Date.now() - t0;
    },
    async close() {
      closing = true;
      if (start.exitCode === null) start.kill('SIGINT');
      await exited;
    },
  };
}
