/**
 * Issue #26: starts as the apps-start benchmark runs them (npm start with its own window, split, the
 * default policy with its two autostarted applications, a first start on new homes), again and
 * again, each watched until both cages and both applications are seen in the window (or it fails),
 * with everything a failure needs kept: start.mjs's stdout and stderr (the shell's Chromium's exit
 * and last lines, shellWindowEnd.mjs), its exit status, the kernel's new lines (OOM, seccomp,
 * segfaults), the part's journal. Cage uids of its own (57600, 57601: not the default 61000 + i
 * another engineer's benchmark may be running).
 *
 * START_FLAKE_HOLD=alternate: every other start (the odd ones) with one X client held on the display
 * from before npm start to its end (lib/displayHold.ts, as bench/run.ts now does for a whole run),
 * the even ones without, as before; =always, =never (the default).
 *
 *   xvfb-run -a -s "-screen 0 1280x800x24" node --import tsx bench/startFlakeLoop.ts N OUT_DIR
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { removeTestRoot, testRoot } from '../supervisor/testing/testRoots';
import { npmStartNodeFlags, SHELL_USER } from './lib/productSession';
import { holdDisplay } from './lib/displayHold';
import { benchPolicy, cageX11Dir, supervisorStateDirOf, writeSupervisorState } from './lib/shellSession';
import { watchStartInWindow } from './lib/windowWatch';

const N = Number(process.argv[2] ?? 10);
const OUT = process.argv[3] ?? 'startflake-out';
/** The harness's cage uids (supervisor/testing/testUids.ts). */
const LOW_UID = 57600;
const HIGH_UID = 57601;
const LEVELS = ['low', 'high'] as const;
const COLOURS = { low: '#1b7f3b', high: '#b3261e' };

const dmesgLines = () => spawnSync('dmesg', [], { encoding: 'utf8' }).stdout.split('\n');

async function once(i: number): Promise<string> {
  const root = testRoot('cloison-startflake11-');
  chmodSync(root, 0o711);
  const policy = benchPolicy(root);
  writeFileSync(policy, readFileSync(policy, 'utf8').replace('      driver: bwrap\n      network: nat', `      driver: bwrap\n      uid: ${LOW_UID}\n      network: nat`).replace('      driver: bwrap\n      network: none', `      driver: bwrap\n      uid: ${HIGH_UID}\n      network: none`));
  writeSupervisorState(root, 'trust-phrase.json', JSON.stringify({ phrase: 'Le héron pêche à l’aube', symbol: '◆' }), true);
  const mode = process.env.START_FLAKE_HOLD ?? 'never';
  const held = mode === 'always' || (mode === 'alternate' && i % 2 === 1);
  const hold = held ? await holdDisplay() : null;
  const kernel0 = dmesgLines().length;
  const load = loadavg()[0]!.toFixed(1);
  const t0 = Date.now();
  const start = spawn(process.execPath, [...npmStartNodeFlags(), 'scripts/start.mjs', '--split', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SUDO_USER: SHELL_USER } });
  let out = '';
  let err = '';
  start.stdout.on('data', (d) => (out += `[${Date.now() - t0}] ${d}`));
  start.stderr.on('data', (d) => (err += `[${Date.now() - t0}] ${d}`));
  const exited = new Promise<void>((r) => start.once('exit', () => r()));
  let verdict: string;
  try {
    const p = await watchStartInWindow({ t0, levels: LEVELS, colours: COLOURS, x11DirOf: (level) => cageX11Dir(root, level), limitMs: 180_000, pollMs: 100, periodMs: 50, alive: () => start.exitCode === null && start.signalCode === null });
    verdict = `ok ${Math.max(...Object.values(p.appInShell))} ms`;
  } catch (e) {
    verdict = `FAIL ${(e as Error).message.slice(0, 300)}; npm start ${start.exitCode === null && start.signalCode === null ? 'running' : `ended ${start.exitCode ?? start.signalCode} at ${Date.now() - t0} ms`}`;
  }
  const endedByItself = start.exitCode !== null || start.signalCode !== null;
  if (!endedByItself) start.kill('SIGINT');
  await exited;
  hold?.release();
  const kernel = dmesgLines().slice(kernel0 - 1).filter(Boolean);
  const journal = join(supervisorStateDirOf(root, true), 'audit.jsonl');
  const record = { i, load, held, verdict, status: [start.exitCode, start.signalCode], stdout: out, stderr: err, kernel, journalTail: existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').slice(-15) : [] };
  writeFileSync(join(OUT, `start-${String(i).padStart(3, '0')}.json`), JSON.stringify(record, null, 1));
  removeTestRoot(root);
  return `${i} load ${load}${held ? ' held' : ''}: ${verdict}`;
}

mkdirSync(OUT, { recursive: true });
for (let i = 0; i < N; i++) console.log(await once(i));
