/**
 * Level switch: from the switch shortcut's keydown in the shell to the frame in which the other
 * cage is visible and the band shows the new level, measured inside Chromium. Idle runs (two real
 * cages) and flooded runs (the high cage a server sending unsolicited full-screen Raw updates as
 * fast as it can), three of each, interleaved (the machine's other load shifts both alike); each
 * run's p95, and the median of those. The references: one 60 Hz frame (16.7 ms), and the idle
 * p95 of the same benchmark (flooded ≤ 1.25× idle).
 *
 * The shell's Chromium is started as npm start starts it: as the shell's user, sandboxed (off, the
 * default). Chromium lowers the renderer of a hidden viewer (nice 5) only when it may raise it
 * back: as root it always may (on: every figure before 2026-12-05's afternoon was taken so), as a
 * user only under an RLIMIT_NICE of 20, which npm start does not set.
 * LEVEL_SWITCH_COMPARE=backgrounding runs each pair with both, alternating, and prints both.
 * (Chromium's --disable-renderer-backgrounding does not stop it.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { launchShellBrowser, SHELL_TEST_USER, startHostDisplay, type HostDisplay, type ShellBrowser } from '../e2e/support/hostDisplay';
import { startSupervisor, twoCagePolicy } from '../e2e/support/supervisorProcess';
import { bwrapCage, twoLevelPolicy, vncCage } from '../supervisor/testing/testPolicy';
import { startFloodingVncServer } from '../supervisor/testing/floodingVncServer';
import { fmt, median, percentile } from './lib/stats';

const SWITCHES = 120;
/** Three unless LEVEL_SWITCH_PAIRS says otherwise (a quicker look while choosing a lever). */
const PAIRS = Number(process.env.LEVEL_SWITCH_PAIRS ?? 3);
/** One kind of run only (LEVEL_SWITCH_ONLY=flooded, say, to take a profile): no ratio then. */
const ONLY = process.env.LEVEL_SWITCH_ONLY;
/** Chromium's renderer backgrounding on (Chromium as root) or off (as the shell's user, RLIMIT_NICE 0). */
type Backgrounding = 'on' | 'off';
/**
 * Whether Playwright stays attached while switching (LEVEL_SWITCH_DEVTOOLS=attached, every figure
 * before 2026-12-05's evening; also with LEVEL_SWITCH_TRACE) or lets go of the browser (default).
 */
const DEVTOOLS = process.env.LEVEL_SWITCH_DEVTOOLS === 'attached' ? 'attached' : 'detached';
const ARMS: Backgrounding[] = process.env.LEVEL_SWITCH_COMPARE === 'backgrounding' ? ['off', 'on'] : ['off'];

export interface SwitchRun {
  samples: number[];
  median: number;
  p95: number;
}

export interface LevelSwitchResult {
  idleRuns: SwitchRun[];
  floodedRuns: SwitchRun[];
  /** Medians over the runs of each kind. */
  idle: { median: number; p95: number };
  flooded: { median: number; p95: number };
  median: number;
  p95: number;
}

export async function runLevelSwitchBench(log: (s: string) => void): Promise<LevelSwitchResult> {
  const socketDir = mkdtempSync(join(tmpdir(), 'cloison-flood-'));
  const socket = join(socketDir, 'vnc.sock');
  const flooding = await startFloodingVncServer(socket);
  const runs = new Map(ARMS.map((arm) => [arm, { idle: [] as SwitchRun[], flooded: [] as SwitchRun[] }]));
  // An X server with no access control, which Chromium run as another user can open too.
  const display = await startHostDisplay({ width: 1280, height: 800 });
  try {
    for (let pair = 0; pair < PAIRS; pair++) {
      for (const arm of ARMS) {
        const into = runs.get(arm)!;
        if (ONLY !== 'flooded') into.idle.push(await runSwitches(twoCagePolicy(), 'idle', arm, display, log));
        if (ONLY !== 'idle') into.flooded.push(await runSwitches(twoLevelPolicy({ low: bwrapCage({ geometry: '1024x640', apps: '[xterm]' }), high: vncCage(socket) }), 'flooded', arm, display, log));
      }
    }
  } finally {
    await display.stop();
    await flooding.close();
    rmSync(socketDir, { recursive: true, force: true });
  }
  const summary = (runs: SwitchRun[]) => ({ median: median(runs.map((r) => r.median)), p95: median(runs.map((r) => r.p95)) });
  for (const [arm, { idle: idleRuns, flooded: floodedRuns }] of runs) {
    const idle = summary(idleRuns);
    const flooded = summary(floodedRuns);
    log(`  level switch p95, renderer backgrounding ${arm} (median of ${PAIRS} runs each): idle ${fmt(idle.p95)} ms | Raw flood ${fmt(flooded.p95)} ms`);
    log(`  flooded / idle p95: ${fmt(flooded.p95 / idle.p95)} (goal ≤ 1.25); flooded p95 / one frame: ${fmt(flooded.p95 / (1000 / 60))} (goal ≤ 1.0)`);
  }
  // The result kept is what npm start gives (backgrounding off: the shell's user, no RLIMIT_NICE).
  const { idle: idleRuns, flooded: floodedRuns } = runs.get('off')!;
  const idle = summary(idleRuns);
  const flooded = summary(floodedRuns);
  return { idleRuns, floodedRuns, idle, flooded, median: idle.median, p95: idle.p95 };
}

async function runSwitches(policy: string, name: string, backgrounding: Backgrounding, display: HostDisplay, log: (s: string) => void): Promise<SwitchRun> {
  const sup = await startSupervisor(policy);
  // The shell's Chromium as npm start starts it (its flags, --app on the waiting page, headful on
  // an X display of its own), reached over DevTools: as the shell's user, sandboxed, with the user's
  // RLIMIT_NICE of 0 — Chromium never lowers a renderer (backgrounding off); or as root, unsandboxed,
  // where Chromium may always raise a renderer back and lowers hidden viewers (on), as npm start's
  // Chromium does under the RLIMIT_NICE it now gives it.
  let shell: ShellBrowser | undefined;
  try {
    shell = await launchShellBrowser(display, { url: 'data:text/html,', width: 1280, height: 800, user: backgrounding === 'on' ? null : SHELL_TEST_USER, locale: null });
    const { browser, page } = shell;
    // In the page, registered before the shell's own listeners: the time of the shortcut's
    // keydown, then the first animation frame in which the band names the new level and that
    // level's frame is visible. The frame's visibility is read in the animation frame, where the
    // page's style is computed for drawing anyway: read at the band's change, it would force a
    // style computation of its own inside the switch's keydown (the measure slowing the measured).
    // Plain JavaScript text: a function here would be rewritten by the TypeScript loader.
    await page.addInitScript(`
      window.switchTimes = [];
      let t0 = 0;
      window.addEventListener('keydown', (e) => { if (e.key === 'PageDown') { t0 = performance.now(); performance.mark('switch-keydown'); } }, { capture: true });
      const watch = () => {
        const band = document.querySelector('[data-testid=level-band]');
        if (!band) return void setTimeout(watch, 50);
        new MutationObserver(() => {
          const level = band.getAttribute('data-level');
          const since = t0;
          const drawn = () => {
            if (t0 !== since || band.getAttribute('data-level') !== level) return; // a newer switch is measured instead
            const frame = document.querySelector('[data-testid=cage-frame-' + level + ']');
            if (!frame || getComputedStyle(frame).visibility !== 'visible') return void requestAnimationFrame(drawn);
            performance.mark('switch-frame-' + level);
            window.switchTimes.push([performance.now() - t0, level]);
          };
          requestAnimationFrame(drawn);
        }).observe(band, { attributes: true, attributeFilter: ['data-level'] });
      };
      document.addEventListener('DOMContentLoaded', watch);
    `);
    await page.goto(await sup.launchUrl());
    log(`  (${name}: backgrounding ${backgrounding}: ${chromiumAccount()}; DevTools ${DEVTOOLS} while switching)`);
    await page.locator('[data-testid=cage-frame-high][data-viewer=connected]').waitFor({ state: 'attached', timeout: 30_000 });
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 30_000 });
    // A lever under test (LEVEL_SWITCH_RENICE=N): the renderer that burns the most CPU — in a
    // flooded run, the flooding cage's viewer, brought to front once so it decodes — at nice N.
    const renice = Number(process.env.LEVEL_SWITCH_RENICE ?? 0);
    if (renice > 0 && name === 'flooded') {
      await page.keyboard.press('Control+Alt+PageDown');
      const busiest = await busiestRenderer(1000);
      await page.keyboard.press('Control+Alt+PageDown');
      if (busiest) setPriority(busiest.pid, renice);
      log(`  (${name}: renderer ${busiest?.pid} at nice ${renice}, ${busiest?.ms} ms CPU in 1 s before)`);
      await page.evaluate('window.switchTimes = []');
    }
    // A profile to read (LEVEL_SWITCH_TRACE=file.json): Chromium's trace of the flooded run's switches.
    const trace = process.env.LEVEL_SWITCH_TRACE;
    // LEVEL_SWITCH_TRACE_JS=1 adds V8's sampling profiler: which functions the keydown task runs.
    const categories = process.env.LEVEL_SWITCH_TRACE_JS ? [...TRACE_CATEGORIES, 'disabled-by-default-v8.cpu_profiler'] : TRACE_CATEGORIES;
    // The CPU Chromium's processes use while switching: the busiest renderer's (a flooded run's
    // flooding viewer) and the browser process's (which routes every key and DevTools message).
    const cpuBefore = new Map([...ourRenderers(), ...ourBrowser()].map((pid) => [pid, cpuMs(pid)]));
    const switchingSince = Date.now();
    let timed: [number, string][];
    if (DEVTOOLS === 'attached' || (trace && name === 'flooded')) {
      if (trace && name === 'flooded') await browser.startTracing(page, { path: trace, categories });
      for (let i = 0; i < SWITCHES; i++) {
        await page.keyboard.press('Control+Alt+PageDown');
        await page.waitForTimeout(30);
      }
      if (trace && name === 'flooded') {
        await browser.stopTracing();
        log(`  profile written to ${trace}; ${traceSummary(trace)}`);
      }
      timed = ((await page.evaluate('window.switchTimes')) as [number, string][]).slice(10);
    } else timed = (await switchesDetached(shell, display, log)).slice(10);
    const perSecond = (pid: number) => ((cpuMs(pid) - (cpuBefore.get(pid) ?? 0)) * 1000) / (Date.now() - switchingSince);
    const cpu = `busiest renderer ${fmt(Math.max(0, ...ourRenderers().map(perSecond)))} ms/s, browser ${fmt(ourBrowser().map(perSecond).reduce((a, b) => a + b, 0))} ms/s`;
    // What Chromium did with the renderers, busiest first (in a flooded run the flooding viewer's,
    // hidden after an even number of switches): with backgrounding on, a hidden viewer's at nice 5.
    const nices = ourRenderers().map((pid) => ({ nice: niceOf(pid), cpu: cpuMs(pid) })).sort((a, b) => b.cpu - a.cpu).map((r) => r.nice);
    const samples = timed.map(([ms]) => ms);
    const result = { samples, median: median(samples), p95: percentile(samples, 95) };
    // By direction: to high (the flooding cage in flooded runs) and back to low.
    const to = (level: string) => fmt(percentile(timed.filter(([, l]) => l === level).map(([ms]) => ms), 95));
    log(`  level switch, ${name}, backgrounding ${backgrounding} (renderers' nice, busiest first: ${nices.join(' ')}), over ${samples.length} switches: median ${fmt(result.median)} ms, p95 ${fmt(result.p95)} ms (to high ${to('high')}, to low ${to('low')}; one 60 Hz frame: 16.67 ms; load average ${loadavg()[0]!.toFixed(1)}; CPU while switching: ${cpu})`);
    return result;
  } finally {
    await shell?.close();
    await sup.stop();
  }
}

/**
 * The switches with no DevTools client attached, as npm start runs the shell: Playwright attaches to
 * every frame (the viewers' too) and turns on its domains there, and the renderers' DevTools messages
 * then pass through the browser's main thread, which also routes every key — in a flooded run's
 * trace, 5.5 s of that thread's 6.6 s of CPU; while switching, the browser process used 136–146 ms
 * of CPU a second attached, 47–54 detached (2026-12-05, evening). So the connection is let go,
 * the shortcut typed on the X display (a press every 150 ms, twenty to an xdotool), and the times
 * read after.
 */
async function switchesDetached(shell: ShellBrowser, display: HostDisplay, log: (s: string) => void): Promise<[number, string][]> {
  const { page, browser } = shell;
  // The X keyboard focus in the shell's window (no window manager: a click gives it), on the stage.
  const box = (await page.getByTestId('level-band').boundingBox())!;
  const at = await shell.screenPoint(box.x + box.width / 2, box.y + box.height + 40);
  await display.click(at.x, at.y);
  const levelNow = () => page.getByTestId('level-band').getAttribute('data-level');
  const before = await levelNow();
  await display.key('ctrl+alt+Next');
  await page.waitForFunction((level) => document.querySelector('[data-testid=level-band]')?.getAttribute('data-level') !== level, before, { timeout: 10_000 });
  await display.key('ctrl+alt+Next');
  await page.waitForFunction((level) => document.querySelector('[data-testid=level-band]')?.getAttribute('data-level') === level, before, { timeout: 10_000 });
  await page.evaluate('window.switchTimes = []');
  await browser.close(); // lets go of the connection only: the shell's Chromium runs on
  // A press every 150 ms, in runs of 20 (xdotool is given 10 s to answer): a switch whose frame
  // comes after the next press is not measured (a newer one is), so the spacing is kept well above
  // any switch's time, and the switches left unmeasured are counted.
  for (let done = 0; done < SWITCHES; done += 20) await display.xdotool('key', '--delay', '12', '--repeat', String(Math.min(20, SWITCHES - done)), '--repeat-delay', '150', 'ctrl+alt+Next');
  await new Promise((r) => setTimeout(r, 500));
  const again = await chromium.connectOverCDP(shell.devtools, { timeout: 15_000 });
  try {
    const shellPage = again.contexts()[0]!.pages().find((p) => p.url().startsWith('http'));
    if (!shellPage) throw new Error('the shell page is gone after the switches');
    const times = (await shellPage.evaluate('window.switchTimes')) as [number, string][];
    if (times.length < SWITCHES / 2) throw new Error(`only ${times.length} of ${SWITCHES} switches measured with no DevTools attached`);
    if (times.length < SWITCHES) log(`  (${SWITCHES - times.length} of ${SWITCHES} switches not measured: their frame came after the next press, 150 ms later)`);
    return times;
  } finally {
    await again.close();
  }
}

const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'blink.user_timing', 'toplevel', 'viz', 'cc', 'benchmark', 'input', 'gpu', 'renderer.scheduler'];

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * What a profile says of the trusted page's part of each switch: its keydown task (the shell's
 * handler and React's commit), in wall time against the CPU time its thread actually had. Wall far
 * above CPU: the trusted page was waiting for a core, not working.
 */
function traceSummary(path: string): string {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
  const marks = events.filter((e) => e.name.startsWith('switch-')).sort((a, b) => a.ts - b.ts);
  if (marks.length === 0) return 'no switch marks in it';
  const trusted = marks[0]!.pid;
  const main = events.find((e) => e.ph === 'M' && e.pid === trusted && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')?.tid;
  const tasks = events.filter((e) => e.ph === 'X' && e.pid === trusted && e.tid === main && e.name === 'ThreadControllerImpl::RunTask');
  const byLevel = new Map<string, { wall: number[]; cpu: number[]; toFrame: number[] }>();
  for (let i = 0; i + 1 < marks.length; i++) {
    if (marks[i]!.name !== 'switch-keydown' || !marks[i + 1]!.name.startsWith('switch-frame-')) continue;
    const at = marks[i]!.ts;
    const task = tasks.find((t) => t.ts <= at && at <= t.ts + (t.dur ?? 0));
    if (!task) continue;
    const level = marks[i + 1]!.name.slice('switch-frame-'.length);
    // Every task of the trusted page's main thread from the keydown's to the one drawing the frame.
    const drawnAt = marks[i + 1]!.ts;
    const drawing = tasks.find((t) => t.ts <= drawnAt && drawnAt <= t.ts + (t.dur ?? 0));
    const until = drawing ? drawing.ts + (drawing.dur ?? 0) : drawnAt;
    const toFrame = tasks.filter((t) => t.ts >= task.ts && t.ts <= until).reduce((sum, t) => sum + (t.tdur ?? 0), 0);
    const entry = byLevel.get(level) ?? { wall: [], cpu: [], toFrame: [] };
    entry.wall.push((task.dur ?? 0) / 1000);
    entry.cpu.push((task.tdur ?? 0) / 1000);
    entry.toFrame.push(toFrame / 1000);
    byLevel.set(level, entry);
  }
  return [...byLevel]
    .map(
      ([level, { wall, cpu, toFrame }]) =>
        `to ${level}: the trusted page's keydown task, wall median ${fmt(median(wall))} p95 ${fmt(percentile(wall, 95))} ms, its CPU median ${fmt(median(cpu))} p95 ${fmt(percentile(cpu, 95))} ms; its main thread's CPU from the keydown to the frame drawn, median ${fmt(median(toFrame))} p95 ${fmt(percentile(toFrame, 95))} ms`,
    )
    .join('; ');
}

/** Whom the shell's Chromium's renderers run as, and their RLIMIT_NICE. */
function chromiumAccount(): string {
  const renderers = ourRenderers();
  const uid = renderers.length ? Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${renderers[0]}/status`, 'utf8'))![1]) : NaN;
  return `renderers run as uid ${uid}, RLIMIT_NICE ${renderers.length ? /^Max nice priority\s+(\S+)/m.exec(readFileSync(`/proc/${renderers[0]}/limits`, 'utf8'))![1] : '?'}`;
}

/** Renderer processes started by this process (Chromium's, through Playwright). */
function ourRenderers(): number[] {
  return ourChromium((cmdline) => cmdline.includes('--type=renderer'));
}

/** The shell Chromium's browser process (no --type: neither a renderer, the GPU process nor a zygote). */
function ourBrowser(): number[] {
  return ourChromium((cmdline) => /^\S*\/chromium\0/.test(cmdline) && !cmdline.includes('--type='));
}

/** Processes started by this process whose command line (NUL-separated) passes `wanted`. */
function ourChromium(wanted: (cmdline: string) => boolean): number[] {
  const parent = new Map<number, number>();
  const renderers: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (wanted(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) renderers.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 20; p = parent.get(p) ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  return renderers.filter(ours);
}

/** A process's nice value (its main thread's: setpriority on a pid sets that thread's). */
function niceOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
  } catch {
    return NaN;
  }
}

function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

async function busiestRenderer(ms: number): Promise<{ pid: number; ms: number } | null> {
  const pids = ourRenderers();
  const before = new Map(pids.map((p) => [p, cpuMs(p)]));
  await new Promise((r) => setTimeout(r, ms));
  const used = pids.map((p) => ({ pid: p, ms: cpuMs(p) - before.get(p)! })).sort((a, b) => b.ms - a.ms);
  return used[0] ?? null;
}
