/**
 * Where a start's time goes (not a benchmark: no reference, no goal): one `npm start` as
 * appsStart.bench.ts runs it, with the supervisor's log at level info, and one timeline merging,
 * in milliseconds from the start,
 *   - the supervisor's log lines and the journal's facts (cage starting/running, viewers admitted),
 *   - when each program of interest first appeared among the processes (sampled every 250 ms),
 *   - the paints (lib/paintWatch.ts),
 * then the CPU each program used until both applications were seen in the shell.
 *
 *   xvfb-run -a node --import tsx bench/appsStartProfile.ts
 *
 * `BENCH_START=again`: a start after the first, the screen size remembered (lib/shellSession.ts).
 * As npm start runs it: the split; `BENCH_SPLIT=0` for `--single`. Last, each step of the start
 * once, per level, in milliseconds after it (`stepsOfStart`).
 */
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { testRoot } from '../supervisor/testing/realCage';
import { watchStart } from './lib/paintWatch';
import { benchPolicy, cageX11Dir, openShellSession, staleRememberedScreen, startAgain, supervisorStateDirOf, useNpmStartMode } from './lib/shellSession';
import { stepsOfStart } from './lib/startSteps';

const TICKS_PER_SECOND = 100;

interface Seen {
  name: string;
  firstAt: number;
  ticks: number;
}

/** Every process's name (Chromium's with its type) and CPU ticks, keyed by pid. */
function sample(): Map<number, { name: string; ticks: number; ppid: number }> {
  const out = new Map<number, { name: string; ticks: number; ppid: number }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const raw = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      // Chromium rewrites its command line as one string.
      const cmd = raw.length === 1 ? raw[0]!.split(' ') : raw;
      const type = cmd.find((a) => a.startsWith('--type='))?.slice(7);
      const base = (cmd[0] ?? '').replace(/^.*\//, '') || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const script = base === 'node' || base.startsWith('node') ? ` ${(cmd.find((a) => /\.(m?js|ts)$/.test(a)) ?? '').replace(/^.*\//, '')}` : '';
      out.set(Number(e), { name: `${base}${type ? ` ${type}` : ''}${script}`, ticks: Number(f[11]) + Number(f[12]), ppid: Number(f[1]) });
    } catch {
      /* gone */
    }
  }
  return out;
}

function cmdlineHas(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

const split = useNpmStartMode();
const root = testRoot('cloison-profile-');
// Split (as npm start runs it), the part (cloison) reaches its folders and the policy in it.
chmodSync(root, 0o711);
const events: Array<{ at: number; what: string }> = [];
try {
  const seen = new Map<number, Seen>();
  const logFile = join(root, 'supervisor.log');
  const session = await openShellSession(root, benchPolicy(root), undefined, logFile);
  const t0 = session.t0;
  /** Only this start's processes: npm start's tree and the shell's Chromium (the machine is shared). */
  const ours = new Set<number>([session.start.pid!]);
  const tick = () => {
    const now = Date.now() - t0;
    const all = sample();
    for (const [pid, p] of all) if (!ours.has(pid) && p.name.startsWith('chromium') && cmdlineHas(pid, session.marker)) ours.add(pid);
    for (let grown = true; grown; ) {
      grown = false;
      for (const [pid, p] of all) if (!ours.has(pid) && ours.has(p.ppid)) grown = ours.add(pid) !== null;
    }
    for (const [pid, p] of all) {
      if (!ours.has(pid)) continue;
      const s = seen.get(pid);
      if (s) s.ticks = p.ticks;
      else seen.set(pid, { name: p.name, firstAt: now, ticks: p.ticks });
    }
  };
  const timer = setInterval(tick, 250);
  // The shell's page and its viewer frames as they load (origin and path only: the shell's address holds its secret).
  const where = (url: string) => url.replace(/[?#].*$/, '').replace(/\/[^/]*[0-9a-f]{32,}[^/]*/g, '/…');
  session.page.on('framenavigated', (f) => events.push({ at: Date.now() - t0, what: `${f === session.page.mainFrame() ? 'shell page' : 'frame'} navigated: ${where(f.url())}` }));
  session.page.on('load', () => events.push({ at: Date.now() - t0, what: `shell page loaded: ${where(session.page.url())}` }));
  // What the shell says of each viewer (idle, connecting: its ticket asked…) and its frame's generation (a frame replaced).
  const viewerSeen = new Map<string, string>();
  const readViewers = async () => {
    const states = await session.page
      .evaluate(() => ['low', 'high'].map((l) => [l, document.querySelector(`[data-testid=cage-frame-${l}]`)?.getAttribute('data-viewer') ?? '–', document.querySelector(`[data-testid=viewer-frame-${l}]`)?.getAttribute('data-generation') ?? '–']))
      .catch(() => []);
    for (const [level, state, generation] of states) {
      const now = `${state} (frame ${generation})`;
      if (viewerSeen.get(level!) !== now) events.push({ at: Date.now() - t0, what: `viewer ${level} ${now}` });
      viewerSeen.set(level!, now);
    }
  };
  // One reading at a time: on a loaded machine an evaluate takes seconds, and piled-up ones would load the shell's page.
  let reading = false;
  const viewerTimer = setInterval(() => {
    if (reading) return;
    reading = true;
    void readViewers().finally(() => (reading = false));
  }, 100);
  // What the viewer in front shows, each time it changes (its canvas's size, opaque or not).
  const shown = new Map<string, string>();
  const onReading = (level: string, r: { opaque: number; width: number; height: number } | null) => {
    const state = r ? `${r.width}x${r.height} ${r.opaque >= 0.999 ? 'opaque' : `${Math.round(r.opaque * 100)} % opaque`}` : 'no canvas';
    if (shown.get(level) !== state) events.push({ at: Date.now() - t0, what: `viewer ${level} shows ${state}` });
    shown.set(level, state);
  };
  try {
    const paints = await watchStart({ page: session.page, t0, levels: ['low', 'high'], x11DirOf: (level) => cageX11Dir(root, level), limitMs: 300_000, pollMs: 100, onReading });
    tick();
    clearInterval(timer);
    clearInterval(viewerTimer);
    for (const [k, byLevel] of Object.entries({ 'first full frame in the shell': paints.cageFrame, 'application painted in its cage': paints.appInCage, 'application seen in the shell': paints.appInShell })) {
      for (const [level, at] of Object.entries(byLevel)) events.push({ at, what: `PAINT ${level}: ${k}` });
    }
    for (const s of paints.switches) events.push({ at: s.at, what: `switch to ${s.to}` });
    events.push({ at: session.listeningMs, what: 'the shell is at (start.mjs printed)' });
  } finally {
    clearInterval(timer);
    clearInterval(viewerTimer);
    await session.close();
  }
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    try {
      // Split: the manager's lines (an ISO time), the part's behind its prefix.
      const l = JSON.parse(line.replace(/^[a-z ]+part: /, '')) as { time: number | string; msg: string; cage?: string; level?: string; app?: string; status?: string; width?: number; height?: number; waitedMs?: number; windowManagerMs?: number; soundMs?: number; error?: string };
      l.time = typeof l.time === 'string' ? Date.parse(l.time) : l.time;
      l.cage ??= l.level;
      const size = `${l.width ? ` ${l.width}x${l.height}` : ''}${l.waitedMs !== undefined ? ` (waited ${l.waitedMs} ms: window manager ${l.windowManagerMs ?? '–'}, sound ${l.soundMs ?? '–'} ms in the cage)` : ''}`;
      events.push({ at: (l.time as number) - t0, what: `log: ${l.msg}${l.cage ? ` [${l.cage}]` : ''}${l.status ? ` ${l.status}` : ''}${l.app ? ` ${l.app}` : ''}${size}${l.error ? `: ${l.error.slice(0, 160)}` : ''}` });
    } catch {
      /* not a log line */
    }
  }
  const journal = join(supervisorStateDirOf(root, split), 'audit.jsonl');
  if (existsSync(journal)) {
    for (const line of readFileSync(journal, 'utf8').split('\n').filter(Boolean)) {
      const { time, kind, seq: _seq, actor: _actor, prev: _prev, alg: _alg, mac: _mac, ...fields } = JSON.parse(line) as Record<string, unknown> & { time: string; kind: string };
      events.push({ at: Date.parse(time) - t0, what: `journal: ${kind} ${JSON.stringify(fields).slice(0, 120)}` });
    }
  }
  const firsts = new Map<string, number>();
  for (const s of seen.values()) if (!firsts.has(s.name) || firsts.get(s.name)! > s.firstAt) firsts.set(s.name, s.firstAt);
  for (const [name, at] of firsts) events.push({ at, what: `process first seen: ${name}` });
  console.log(split ? 'split, as npm start runs it' : '--single (BENCH_SPLIT=0)');
  console.log(startAgain ? `a start after the first (the screen size remembered${staleRememberedScreen(root) ? `, stale: resized to ${staleRememberedScreen(root)}` : ''})` : 'a first start (no screen size remembered)');
  for (const e of events.sort((a, b) => a.at - b.at)) console.log(`${String(e.at).padStart(7)} ms  ${e.what}`);
  console.log('\nEach step of the start, ms after npm start (its first time; per level low / high):');
  for (const line of stepsOfStart(events)) console.log(`  ${line}`);
  const frameLoads = new Map<string, number>();
  for (const e of events) if (/^frame navigated: .*viewer\.html/.test(e.what)) frameLoads.set(e.what, (frameLoads.get(e.what) ?? 0) + 1);
  console.log(`  viewer frames' navigations committed (by origin; a frame replaced before its page committed is not among them): ${[...frameLoads.values()].join(' / ') || '–'}; at the end, each viewer as the shell says (its frame's generation: how many times it was replaced): ${[...viewerSeen].map(([l, s]) => `${l} ${s}`).join(', ')}`);
  const cpu = new Map<string, number>();
  for (const s of seen.values()) cpu.set(s.name, (cpu.get(s.name) ?? 0) + s.ticks / TICKS_PER_SECOND);
  console.log('\nCPU seconds by program until both applications were seen in the shell (processes that ended before a sample are missing):');
  for (const [name, sec] of [...cpu].sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 0.05)) console.log(`  ${sec.toFixed(2).padStart(7)}  ${name}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
