/**
 * Firefox scrolling a long local page in the low level, on the real caged Xvnc as `npm start` runs
 * it: the supervisor of `npm start -- --no-window` on the default policy (256 MiB homes), its cages
 * and their applications; the shell in Chromium with npm start's flags, headful when there is a
 * display (run it under xvfb-run); Firefox started from the shell's Applications menu (the
 * launcher: a true cage process) on a page in the cage's home (no network traffic). The wheel turns
 * without end on the cage's display (xdotool in the X helper the supervisor uses for xrandr;
 * Firefox's smooth scrolling, back to the top every 60 clicks).
 *
 * The same cage is then shown by TigerVNC's vncviewer connected to the cage's own VNC socket as
 * root: vncviewer speaks no WebSocket, so it cannot take the gateway's path; the socket is the
 * shortest path there is, and the shell's figures include its gateway hop — the comparison charges
 * Cloison with all of its path. Two references, alternated in every run (REFERENCES): `vncviewer`
 * on its defaults — the goal's, its automatic selection taking JPEG at quality 8 on this link — and
 * `vncviewerLossless` asking what the shell's viewer asks (lossless Tight at its compression level,
 * full colour): the same work asked of Xvnc. Both ratios are printed; the goal is read on the first.
 *
 * Frames are counted three ways, the same way on both sides, each printed (none hidden):
 * - **updates**: framebuffer updates with pixels the cage's Xvnc sent to the viewer's connection
 *   (a perf uprobe on its rfb::EncodeManager::doUpdate, the function every data update goes
 *   through: the server's side, identical code for both clients). The goal's frames per second,
 *   and the denominator of CPU per frame on both sides.
 * - **shown at 60 Hz**: the 1/60 s slots in which the viewer put new pixels on its window, a
 *   screen refreshing at 60 Hz shows at most one frame a slot (the shell's flips by
 *   performance.now() in its page, vncviewer's XShmPutImage/XPutImage calls by perf's timestamps).
 * - **paints**: each viewer's own drawings to its window: noVNC's flips (one per update with damage,
 *   a putImageData onto the visible canvas; Chromium presents at most one a display refresh, so
 *   two in one animation frame show once), vncviewer's put calls (one per FLTK redraw; X11 has no
 *   refresh cap, and a redraw may carry several updates).
 * CPU is the whole path's: the cage's Xvnc plus the shell (supervisor and Chromium) or vncviewer;
 * Firefox's own is the same for both and left out. Goal: ≥ 1.0× vncviewer's updates per second,
 * ≤ 1.2× its CPU per update.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame } from '@playwright/test';
import { bwrapCagePaths, CAGE_VNC_SOCKET } from '../supervisor/cages/bwrapDriver';
import { scratchDir } from '../supervisor/cages/cageMounts';
import { runXHelper } from '../supervisor/clipboard/xSelection';
import { cpuSecondsOf, cpuSecondsOfTree, processes, treeRootWith } from './lib/processCpu';
import { benchPolicy, openShellSession } from './lib/shellSession';
import { fmt, median } from './lib/stats';
import { screenSizeFor } from '../shared/cageScreenSize';
import { DEFAULT_MAX_GEOMETRY } from '../shared/policy';
import { emptyMotionFigures, type MotionFigures } from './motion.bench';

const SECONDS = 15;
const RUNS = 3;
/** The default policy's low cage runs as this uid (61000 + its position). */
const LOW_UID = 61000;
const PAGE = '/home/cloison/long.html';
/** This run's own uprobe group (another run's probes are not touched, nor it theirs). */
const PROBE_GROUP = `cloisonscroll${process.pid}`;
const XVNC = '/usr/bin/Xvnc';
/** Probes on the calls vncviewer paints its window with, and on Xvnc's update (defined for the run, removed after). */
const PAINT_PROBES = [
  { lib: '/lib/x86_64-linux-gnu/libXext.so.6', fn: 'XShmPutImage' },
  { lib: '/lib/x86_64-linux-gnu/libX11.so.6', fn: 'XPutImage' },
];
const UPDATE_EVENT = `${PROBE_GROUP}:xvncUpdate`;
const paintEvent = (fn: string) => `${PROBE_GROUP}:${fn}`;
/** One 60 Hz refresh, in ms. */
const REFRESH_MS = 1000 / 60;

/** Where Xvnc's EncodeManager::doUpdate is (its dynamic symbols name it; perf takes the address). */
function xvncUpdateAddress(): string {
  const line = execFileSync('nm', ['-D', XVNC], { encoding: 'utf8' }).split('\n').find((l) => l.includes('EncodeManager8doUpdate'));
  if (!line) throw new Error("Xvnc's EncodeManager::doUpdate is not among its symbols: the update count cannot be taken");
  return `0x${line.split(' ')[0]}`;
}

function addProbes(): void {
  execFileSync('perf', ['probe', '-q', '-x', XVNC, '--add', `${UPDATE_EVENT}=${xvncUpdateAddress()}`], { stdio: 'ignore' });
  for (const p of PAINT_PROBES) execFileSync('perf', ['probe', '-q', '-x', p.lib, '--add', `${paintEvent(p.fn)}=${p.fn}`], { stdio: 'ignore' });
}

function removeProbes(): void {
  try {
    execFileSync('perf', ['probe', '-q', '-d', `${PROBE_GROUP}:*`], { stdio: 'ignore' });
  } catch {
    /* none added */
  }
}

/** Timestamps (ms) of each probe event hit in `pids` over `seconds`, by event name. */
function recordProbes(pids: number[], events: string[], seconds: number): { done: Promise<Record<string, number[]>> } {
  const out = join(tmpdir(), `cloison-perf-${process.pid}-${Date.now()}.data`);
  const perf = spawn('perf', ['record', '-q', '-o', out, ...events.flatMap((e) => ['-e', e]), '-p', pids.join(','), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  const done = new Promise<Record<string, number[]>>((resolve) =>
    perf.once('exit', () => {
      const byEvent: Record<string, number[]> = Object.fromEntries(events.map((e) => [e, []]));
      try {
        for (const line of execFileSync('perf', ['script', '-i', out, '-F', 'time,event'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }).split('\n')) {
          const m = /(\d+\.\d+):\s+(\S+?):?\s*$/.exec(line.trim());
          if (m) byEvent[m[2]!]?.push(Number(m[1]) * 1000);
        }
      } finally {
        rmSync(out, { force: true });
      }
      resolve(byEvent);
    }),
  );
  return { done };
}

/** How many times each event happened in `pid` (all its threads) over `seconds` (perf stat). */
function countEvents(pid: number, events: string[], seconds: number): Promise<Record<string, number>> {
  const out = join(tmpdir(), `cloison-perfstat-${process.pid}-${Date.now()}.txt`);
  const perf = spawn('perf', ['stat', '-x,', '-o', out, ...events.flatMap((e) => ['-e', e]), '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  return new Promise((resolve) =>
    perf.once('exit', () => {
      const counts: Record<string, number> = {};
      try {
        for (const line of readFileSync(out, 'utf8').split('\n')) {
          const [n, , event] = line.split(',');
          if (event && events.includes(event)) counts[event] = Number(n) || 0;
        }
      } catch {
        /* perf failed: no counts */
      }
      rmSync(out, { force: true });
      resolve(counts);
    }),
  );
}

/** The 60 Hz refresh slots in which something was put on the window (ms timestamps). */
function slotsShown(times: number[]): number {
  return new Set(times.map((t) => Math.floor(t / REFRESH_MS))).size;
}

/** A long page: 3,000 paragraphs with a coloured bar each, so every scrolled line changes pixels. */
function longPage(): string {
  const rows = Array.from({ length: 3000 }, (_, i) => `<p><span style="background:hsl(${(i * 37) % 360} 60% 70%)">${String(i).padStart(4, '0')}</span> Cloison — deux niveaux, une frontière. Le défilement d’une longue page locale, sans réseau.</p>`);
  return `<!doctype html><meta charset="utf-8"><title>Cloison scroll</title><body style="font:16px serif;margin:2em">${rows.join('\n')}`;
}

/** The shell's default policy, the low level's Firefox opening the long page from the menu instead of its start page at start. */
function scrollPolicy(dir: string): string {
  const path = benchPolicy(dir);
  let yaml = readFileSync(path, 'utf8').replace('- { id: firefox, exec: [firefox-esr], desktop: firefox-esr, autostart: true }', `- { id: firefox, exec: [firefox-esr, ${PAGE}], desktop: firefox-esr, autostart: false }`);
  if (!yaml.includes(PAGE)) throw new Error("the default policy's Firefox entry changed: update firefoxScroll.bench.ts");
  // The wheel turns in the cage, not through the shell: the shell would lock after 3 minutes without its input, hiding the viewer mid-run.
  yaml = yaml.replace('  lockAfterSeconds: 180\n  userMayExtendUpTo: 1800\n', '  lockAfterSeconds: 3600\n  userMayExtendUpTo: 3600\n');
  if (!yaml.includes('lockAfterSeconds: 3600')) throw new Error("the default policy's lock entry changed: update firefoxScroll.bench.ts");
  writeFileSync(path, yaml);
  return path;
}

/** What a viewer frame did over a window of time, counted in its own page (flips: its painted frames). */
interface ViewerWindow {
  start: Record<string, number>;
  end: Record<string, number>;
  /** performance.now() at each flip in the window. */
  flipTimes: number[];
}

/**
 * Counts what a viewer frame does, by kind (from now on), in its own page: `cloisonWindow(ms)` there
 * keeps the counts at its call and `ms` later, read afterwards by `readWindow` (the benchmark need
 * not be connected meanwhile). Flips are noVNC's drawings of its back buffer to the visible canvas.
 */
async function countViewerWork(frame: Frame, animationFrames: boolean): Promise<void> {
  await frame.evaluate('globalThis.__name ??= (f) => f'); // tsx names the functions below with a helper the page lacks
  await frame.evaluate((animationFrames) => {
    const w = window as unknown as { cloisonWork?: Record<string, number> };
    if (w.cloisonWork) return;
    const work: Record<string, number> = (w.cloisonWork = {});
    const add = (k: string, n = 1) => (work[k] = (work[k] ?? 0) + n);
    // When each flip reached the visible canvas (the window's, bounded): the 60 Hz slots it shows in.
    const flipTimes: number[] = [];
    (w as unknown as { cloisonFlipTimes: number[] }).cloisonFlipTimes = flipTimes;
    const flipped = () => {
      if (flipTimes.length < 100_000) flipTimes.push(performance.now());
    };
    const proto = CanvasRenderingContext2D.prototype;
    const put = proto.putImageData as (...args: unknown[]) => void;
    proto.putImageData = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
      const img = args[0] as ImageData;
      // Onto the visible canvas, a flip (the viewer drawing in memory: drawInMemory.ts); else a decoded rectangle.
      const kind = this.canvas.isConnected ? 'flip' : 'blit';
      const t = performance.now();
      put.apply(this, args);
      if (kind === 'flip') {
        add('flipMs', performance.now() - t);
        flipped();
      }
      add(`${kind}s`);
      add(`${kind}Pixels`, args.length >= 7 ? (args[5] as number) * (args[6] as number) : img.width * img.height);
    } as typeof proto.putImageData;
    const draw = proto.drawImage as (...args: unknown[]) => void;
    proto.drawImage = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
      const from = args[0] as { width: number; height: number };
      const kind = from instanceof HTMLImageElement ? 'jpeg' : from instanceof HTMLCanvasElement ? (this.canvas.isConnected ? 'flip' : 'copy') : 'other';
      const t = performance.now();
      draw.apply(this, args);
      if (kind === 'flip') flipped();
      add(`${kind}Ms`, performance.now() - t);
      add(`${kind}s`);
      add(`${kind}Pixels`, args.length >= 9 ? (args[3] as number) * (args[4] as number) : from.width * from.height);
    } as typeof proto.drawImage;
    const fill = proto.fillRect;
    proto.fillRect = function (this: CanvasRenderingContext2D, x: number, y: number, fw: number, fh: number) {
      add('fills');
      add('fillPixels', fw * fh);
      fill.call(this, x, y, fw, fh);
    };
    const read = ReadableStreamDefaultReader.prototype.read as () => Promise<ReadableStreamReadResult<unknown>>;
    ReadableStreamDefaultReader.prototype.read = function (this: ReadableStreamDefaultReader<unknown>) {
      return read.call(this).then((r) => {
        if (r.value instanceof ArrayBuffer) {
          add('messages');
          add('bytes', r.value.byteLength);
        }
        return r;
      });
    } as typeof ReadableStreamDefaultReader.prototype.read;
    let last = performance.now();
    let flipsBefore = 0;
    const tick = () => {
      const now = performance.now();
      add('animationFrames');
      // An animation frame with a flip since the last: one Chromium presents with new pixels.
      if ((work.flips ?? 0) > flipsBefore) add('animationFramesWithFlips');
      flipsBefore = work.flips ?? 0;
      if (now - last > 50) add('framesOver50ms');
      last = now;
      requestAnimationFrame(tick);
    };
    // A requestAnimationFrame loop is work the viewer never does (a frame of the renderer's each
    // display refresh, flipped or not), charged to the shell: BENCH_RAF=0 leaves it out.
    if (animationFrames) requestAnimationFrame(tick);
    const windows = window as unknown as { cloisonWindow: (ms: number) => void; cloisonWindowResult: ViewerWindow | null };
    windows.cloisonWindow = (ms: number) => {
      const start = { ...work, at: performance.now() };
      windows.cloisonWindowResult = null;
      flipTimes.length = 0;
      setTimeout(() => (windows.cloisonWindowResult = { start, end: { ...work, at: performance.now() }, flipTimes: flipTimes.splice(0) }), ms);
    };
  }, animationFrames);
}

async function readWindow(frame: Frame): Promise<ViewerWindow> {
  const handle = await frame.waitForFunction(() => (window as unknown as { cloisonWindowResult: ViewerWindow | null }).cloisonWindowResult, undefined, { timeout: 30_000 });
  return (await handle.jsonValue()) as ViewerWindow;
}

/** The viewer renderer's main thread, sampled for `ms` (Chromium's profiler, on the frame's own target): self time by function. */
async function profileViewer(page: import('@playwright/test').Page, frame: Frame, ms: number): Promise<string[]> {
  const cdp = await page.context().newCDPSession(frame);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  await new Promise((r) => setTimeout(r, ms));
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] } };
  await cdp.detach();
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const n = byNode.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`);
}

/** The low viewer's frame (CSS px and device pixel ratio) and the cage's screen as its viewer shows it (its canvas). */
async function screenAndFrame(page: import('@playwright/test').Page, frame: Frame): Promise<{ frame: string; want: { width: number; height: number }; screen: { width: number; height: number } }> {
  const box = await page.getByTestId('viewer-low').boundingBox();
  const dpr = await page.evaluate(() => window.devicePixelRatio);
  const [maxWidth, maxHeight] = DEFAULT_MAX_GEOMETRY.split('x').map(Number) as [number, number];
  const want = screenSizeFor({ width: box?.width ?? 0, height: box?.height ?? 0, devicePixelRatio: dpr }, { width: maxWidth, height: maxHeight });
  const screen = await frame.evaluate(() => {
    const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
    return { width: c?.width ?? 0, height: c?.height ?? 0 };
  });
  return { frame: `${box?.width ?? 0}x${box?.height ?? 0} CSS px at device pixel ratio ${dpr}`, want, screen };
}

/**
 * Waits until the cage's screen has followed its frame (geometry: auto): the cage starts at
 * 1280x800 and is resized once the shell reports its frame; scrolling before that measures a scaled
 * canvas at another size than the one a user sees. Returns what it measured at.
 */
async function screenFollowedFrame(page: import('@playwright/test').Page, frame: Frame): Promise<string> {
  const until = Date.now() + 60_000;
  for (;;) {
    const { frame: box, want, screen } = await screenAndFrame(page, frame);
    const fits = Math.abs(want.width - screen.width) <= 1 && Math.abs(want.height - screen.height) <= 1;
    const said = `frame ${box}, cage screen ${screen.width}x${screen.height} (its frame's size ${want.width}x${want.height})`;
    if (fits) return said;
    if (Date.now() > until) throw new Error(`the cage's screen did not follow its frame in 60 s: ${said}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A cage's sandbox is the bwrap started with --info-fd (its X helpers are not): its first process. */
function isCageSandbox(cmd: string): boolean {
  return cmd.includes('bwrap') && cmd.includes('--info-fd');
}

/** The Xvnc in the cage whose run folder is `run`. */
function cageXvnc(run: string): number | null {
  const all = processes();
  const sandbox = all.find((p) => isCageSandbox(p.cmd) && p.cmd.includes(run) && !all.some((q) => q.pid === p.ppid && isCageSandbox(q.cmd)));
  const stack = sandbox ? [sandbox.pid] : [];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = all.find((q) => q.pid === pid);
    if (p?.cmd.startsWith('Xvnc ')) return pid;
    for (const q of all) if (q.ppid === pid) stack.push(q.pid);
  }
  return null;
}

/** The supervisor's side, its parts and X helpers included: its process tree less the cages (their sandboxes, their network helpers). */
function trustedSideCpu(supervisorPid: number): number {
  const all = processes();
  let total = 0;
  const stack = [supervisorPid];
  while (stack.length) {
    const pid = stack.pop()!;
    total += cpuSecondsOf(pid);
    for (const q of all) if (q.ppid === pid && !isCageSandbox(q.cmd) && !/slirp4netns|wireguard-go/.test(q.cmd.split(' ')[0]!)) stack.push(q.pid);
  }
  return total;
}

/**
 * CPU seconds of each process of the shell: Chromium's by type (its renderers each by pid: the
 * viewer's is the busy one), the supervisor's Node processes by script, its X helpers together.
 */
function shellCpuByProcess(browserRoot: number, supervisorPid: number): Record<string, number> {
  const all = processes();
  const out: Record<string, number> = {};
  const nameOf = (p: { pid: number; cmd: string }, chromium: boolean) => {
    if (chromium) {
      const type = /--type=(\S+)/.exec(p.cmd)?.[1];
      return `chromium ${type ?? 'browser'}${type === 'renderer' ? ` ${p.pid}` : ''}`;
    }
    const script = /\S+\.(?:m?js|ts)\b/.exec(p.cmd)?.[0]?.replace(/^.*\//, '');
    return p.cmd.startsWith('node') || p.cmd.includes('/node ') ? `node ${script ?? '?'}` : `supervisor's ${p.cmd.split(' ')[0]!.replace(/^.*\//, '')}`;
  };
  const walk = (root: number, chromium: boolean, keep: (cmd: string) => boolean) => {
    const stack = [root];
    while (stack.length) {
      const pid = stack.pop()!;
      const p = all.find((q) => q.pid === pid);
      if (p) out[nameOf(p, chromium)] = (out[nameOf(p, chromium)] ?? 0) + cpuSecondsOf(pid);
      for (const q of all) if (q.ppid === pid && keep(q.cmd)) stack.push(q.pid);
    }
  };
  walk(browserRoot, true, () => true);
  walk(supervisorPid, false, (cmd) => !isCageSandbox(cmd) && !/slirp4netns|wireguard-go/.test(cmd.split(' ')[0]!));
  return out;
}

/** CPU seconds of each thread of a process by its name (a pool's threads together), from /proc. */
function cpuSecondsByThread(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')).replace(/\d+$/, '');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The threads of the shell's Chromium processes and the gateway's part, by process and thread name. */
function shellCpuByThread(browserRoot: number, supervisorPid: number): Record<string, number> {
  const all = processes();
  const out: Record<string, number> = {};
  const within = (root: number) => {
    const found: number[] = [];
    const stack = [root];
    while (stack.length) {
      const pid = stack.pop()!;
      found.push(pid);
      for (const q of all) if (q.ppid === pid && !isCageSandbox(q.cmd)) stack.push(q.pid);
    }
    return found;
  };
  for (const pid of [...within(browserRoot), ...within(supervisorPid)]) {
    const p = all.find((q) => q.pid === pid);
    if (!p) continue;
    const chromium = !p.cmd.includes('node');
    const label = chromium ? `${/--type=(\S+)/.exec(p.cmd)?.[1] ?? 'browser'} ${pid}` : `${/\S+\.(?:m?js|cjs)\b/.exec(p.cmd)?.[0]?.replace(/^.*\//, '') ?? p.cmd.split(' ')[0]} ${pid}`;
    for (const [thread, v] of Object.entries(cpuSecondsByThread(pid))) out[`${label} ${thread}`] = v;
  }
  return out;
}

/** The processes below `root` (its own children's children too). */
function descendants(root: number): Array<{ pid: number; ppid: number; cmd: string }> {
  const all = processes();
  const found: Array<{ pid: number; ppid: number; cmd: string }> = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const q of all)
      if (q.ppid === pid) {
        found.push(q);
        stack.push(q.pid);
      }
  }
  return found;
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** One window of one viewer: frames counted three ways (see the header) and the CPU it took. */
interface Sample {
  /** Xvnc's data updates to this viewer a second. */
  updates: number;
  /** 60 Hz slots with new pixels put on the window, a second. */
  shown: number;
  /** The viewer's own paints to its window, a second. */
  paints: number;
  /** CPU seconds over the window: the viewer's side, Xvnc. */
  viewerCpu: number;
  serverCpu: number;
  seconds: number;
  /** The viewer side's CPU seconds by process. */
  parts: Record<string, number>;
  /** The shell's CPU seconds by process and thread (its busiest printed). */
  threads?: Record<string, number>;
}

/** Each side's samples, and the figures the ratios are taken from. */
export interface ScrollFigures extends MotionFigures {
  /** Frames a 60 Hz screen shows, a second. */
  shownPerSecond: number[];
  /** The viewer's own paints, a second. */
  paintsPerSecond: number[];
  /** Whole-path CPU (viewer side + Xvnc) per frame shown at 60 Hz, ms. */
  wholeCpuMsPerShown: number[];
}

const emptyScrollFigures = (): ScrollFigures => ({ ...emptyMotionFigures(), shownPerSecond: [], paintsPerSecond: [], wholeCpuMsPerShown: [] });

/** MotionFigures' frames are Xvnc's updates: the goal's frames and CPU per frame on both sides. */
function addSample(into: ScrollFigures, s: Sample): void {
  const updates = Math.max(s.updates * s.seconds, 1);
  into.fps.push(s.updates);
  into.cpuMsPerFrame.push((s.viewerCpu * 1000) / updates);
  into.serverCpuMsPerFrame.push((s.serverCpu * 1000) / updates);
  into.perFrame.push(Object.fromEntries(Object.entries(s.parts).map(([k, v]) => [k, (v * 1000) / updates])));
  into.shownPerSecond.push(s.shown);
  into.paintsPerSecond.push(s.paints);
  into.wholeCpuMsPerShown.push(((s.viewerCpu + s.serverCpu) * 1000) / Math.max(s.shown * s.seconds, 1));
}

function sampleLine(name: string, s: Sample): string {
  const updates = Math.max(s.updates * s.seconds, 1);
  const threads = Object.entries(s.threads ?? {}).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).slice(0, 14);
  return `${threads.length ? `  ${name}, busiest threads (ms per update): ${threads.map(([k, v]) => `${k} ${fmt((v * 1000) / updates)}`).join(', ')}\n` : ''}  ${name}: Xvnc updates ${fmt(s.updates, 1)}/s, shown at 60 Hz ${fmt(s.shown, 1)}/s, paints ${fmt(s.paints, 1)}/s; CPU per update: viewer side ${fmt((s.viewerCpu * 1000) / updates)} + Xvnc ${fmt((s.serverCpu * 1000) / updates)} ms (${Object.entries(s.parts).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${fmt((v * 1000) / updates)}`).join(', ')})`;
}

/** Each side's medians over its runs, the three frame counts side by side. */
function logScrollFigures(result: Record<string, ScrollFigures>, log: (line: string) => void): void {
  for (const [name, f] of Object.entries(result)) {
    const whole = f.cpuMsPerFrame.map((v, i) => v + f.serverCpuMsPerFrame[i]!);
    if (!f.fps.length) continue;
    log(`  ${name}: Xvnc updates ${fmt(median(f.fps), 1)}/s (runs ${f.fps.map((v) => fmt(v, 1)).join(', ')}), shown at 60 Hz ${fmt(median(f.shownPerSecond), 1)}/s, paints ${fmt(median(f.paintsPerSecond), 1)}/s; whole-path CPU ${fmt(median(whole))} ms per update (viewer side ${fmt(median(f.cpuMsPerFrame))}, Xvnc ${fmt(median(f.serverCpuMsPerFrame))}), ${fmt(median(f.wholeCpuMsPerShown))} ms per frame shown`);
  }
}

/**
 * The compression level the shell's viewer asks: noVNC 1.7's own (2), which encodingChoice.ts
 * leaves as it is, unless the viewer was built with the measuring switch of viewerMain.ts
 * (`VITE_CLOISON_VIEWER_ENCODING=tight0|tight1`: set it for the benchmark too).
 */
function shellCompressLevel(): number {
  const chosen = process.env.VITE_CLOISON_VIEWER_ENCODING;
  return chosen === 'tight0' ? 0 : chosen === 'tight1' ? 1 : 2;
}

/**
 * The two references, each in every run, alternated: vncviewer on its defaults (the goal's: its
 * automatic selection takes JPEG at quality 8 on this link), and vncviewer asking what the shell
 * asks (lossless Tight at the shell's compression level, full colour, no automatic selection: the
 * same encoder work in Xvnc, like for like). Options from TigerVNC 1.12's vncviewer(1).
 */
export const REFERENCES = {
  vncviewer: [] as string[],
  vncviewerLossless: ['-AutoSelect=0', '-NoJPEG', '-FullColor', `-CompressLevel=${shellCompressLevel()}`, '-CustomCompressLevel', '-PreferredEncoding=Tight'],
} as const;
export type Reference = keyof typeof REFERENCES;

/** vncviewer on the cage's socket, its painting and Xvnc's updates counted by perf's uprobes. */
async function vncviewerSample(socket: string, xvncPid: number, options: readonly string[], log: (s: string) => void): Promise<Sample> {
  const viewer = spawn('vncviewer', ['-Shared', '-RemoteResize=0', ...options, socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  viewer.stderr!.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
  await new Promise((r) => setTimeout(r, 2000)); // connected and painting
  log(`  vncviewer ${options.join(' ') || '(its defaults)'}: ${vncConnections(xvncPid)} connection(s) to the cage's VNC socket`);
  const paints = PAINT_PROBES.map((p) => paintEvent(p.fn));
  const c0 = cpuSecondsOfTree(viewer.pid!);
  const s0 = cpuSecondsOfTree(xvncPid);
  const recording = recordProbes([xvncPid, viewer.pid!], [UPDATE_EVENT, ...paints], SECONDS);
  const byEvent = await recording.done;
  const viewerCpu = cpuSecondsOfTree(viewer.pid!) - c0;
  const serverCpu = cpuSecondsOfTree(xvncPid) - s0;
  if (viewer.exitCode !== null) log(`  vncviewer ended before its time (code ${viewer.exitCode}): ${said.trim().split('\n').slice(-4).join(' | ')}`);
  viewer.kill('SIGTERM');
  await new Promise((r) => (viewer.exitCode !== null || viewer.signalCode !== null ? r(null) : viewer.once('exit', r)));
  // What it chose to ask (its automatic selection logs its throughput and the quality it takes).
  const chose = said.split('\n').filter((l) => /quality|encoding|Throughput|pixel format/i.test(l)).slice(-3);
  if (chose.length) log(`  vncviewer said: ${chose.map((l) => l.trim()).join(' | ')}`);
  const puts = paints.flatMap((e) => byEvent[e] ?? []);
  return { updates: (byEvent[UPDATE_EVENT]?.length ?? 0) / SECONDS, shown: slotsShown(puts) / SECONDS, paints: puts.length / SECONDS, viewerCpu, serverCpu, seconds: SECONDS, parts: { vncviewer: viewerCpu } };
}

/** Connections Xvnc holds on its VNC socket (as the cage names it; its listening one not counted). */
function vncConnections(xvncPid: number): number {
  return execFileSync('ss', ['-xpH', 'state', 'connected'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(` ${CAGE_VNC_SOCKET} `) && l.includes(`pid=${xvncPid},`)).length;
}

export async function runFirefoxScrollBench(log: (s: string) => void): Promise<{ shell: ScrollFigures } & Record<Reference, ScrollFigures>> {
  const root = mkdtempSync(join(tmpdir(), 'cloison-ffscroll-'));
  const paths = bwrapCagePaths(join(root, 's'), join(root, 'r'), 'low');
  const x11 = scratchDir(paths.scratch, 'x11');
  const socket = join(scratchDir(paths.scratch, 'vnc'), 'vnc.sock');
  const result = { shell: emptyScrollFigures(), vncviewer: emptyScrollFigures(), vncviewerLossless: emptyScrollFigures() };
  addProbes();
  // A trust phrase chosen already: the shell opens on the desktops, not on its first-start question.
  mkdirSync(join(root, 's'), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, 's', 'trust-phrase.json'), JSON.stringify({ phrase: 'banc de défilement', symbol: '◆' }), { mode: 0o600 });
  const session = await openShellSession(root, scrollPolicy(root), undefined, undefined, true);
  let wheel: Promise<void> | null = null;
  try {
    const { page } = session;
    await page.locator('[data-testid=cage-frame-low][data-viewer=connected]').waitFor({ timeout: 120_000 });
    const viewerFrame = async () => {
      const frame = await (await session.page.$('[data-testid=viewer-frame-low]'))?.contentFrame();
      if (!frame) throw new Error("the low level's viewer frame is missing");
      return frame;
    };
    // Before Firefox opens (it fills the screen it finds): the cage's screen at its frame's size.
    log(`  sizes before scrolling: ${await screenFollowedFrame(page, await viewerFrame())}`);
    const home = paths.home;
    writeFileSync(join(home, 'long.html'), longPage());
    chownSync(join(home, 'long.html'), LOW_UID, LOW_UID);
    // As a user would: the Applications menu, the low level's Firefox.
    await page.getByTestId('open-apps').click();
    await page.getByTestId('app-low-firefox').click();
    await runXHelper(x11, ['sh', '-c', 'xdotool search --sync --onlyvisible --name "Cloison scroll" windowmove 0 0 windowsize 100% 100% && sleep 3 && xdotool mousemove 400 300'], 240_000);
    const xvncPid = cageXvnc(paths.run);
    if (!xvncPid) throw new Error("the low cage's Xvnc was not found");
    const runsMs = RUNS * 2 * (SECONDS + 8) * 1000 + 60_000;
    wheel = runXHelper(x11, ['sh', '-c', 'while xdotool click --repeat 60 --delay 40 5 && xdotool key ctrl+Home; do sleep 0.2; done'], runsMs).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    await countViewerWork(await viewerFrame(), process.env.BENCH_RAF !== '0');
    const browserRoot = treeRootWith(session.marker);
    const supervisorPid = processes().find((p) => p.ppid === session.start.pid && p.cmd.includes('supervisor/main.js'))?.pid;
    if (!browserRoot || !supervisorPid) throw new Error('the shell or its supervisor was not found');
    const shellCpu = () => cpuSecondsOfTree(browserRoot) + trustedSideCpu(supervisorPid);
    const breakdown = (): Record<string, number> => shellCpuByProcess(browserRoot, supervisorPid);
    // The shell first (its one-time launch address allows one window), then vncviewer once it has closed.
    for (let run = 0; run < RUNS; run++) {
      // The window is counted in the viewer's page while the benchmark is not connected (see DetachableShellSession).
      await (await viewerFrame()).evaluate((ms) => (window as unknown as { cloisonWindow: (ms: number) => void }).cloisonWindow(ms), SECONDS * 1000);
      const recording = recordProbes([xvncPid], [UPDATE_EVENT], SECONDS);
      // The gateway's system calls (the browser part relays the cage's stream).
      const gatewayPid = descendants(supervisorPid).find((p) => p.cmd.includes('browserPart.js'))?.pid;
      const gatewayCalls = gatewayPid ? countEvents(gatewayPid, ['syscalls:sys_enter_read', 'syscalls:sys_enter_epoll_pwait', 'syscalls:sys_enter_writev', 'syscalls:sys_enter_write'], SECONDS) : Promise.resolve({} as Record<string, number>);
      const c0 = shellCpu();
      const s0 = cpuSecondsOfTree(xvncPid);
      const p0 = breakdown();
      const th0 = shellCpuByThread(browserRoot, supervisorPid);
      await session.detach();
      const byEvent = await recording.done;
      const cpu = shellCpu() - c0;
      const server = cpuSecondsOfTree(xvncPid) - s0;
      const p1 = breakdown();
      const th1 = shellCpuByThread(browserRoot, supervisorPid);
      await session.attach();
      const frame = await viewerFrame();
      const { start, end, flipTimes } = await readWindow(frame);
      const sizes = await screenAndFrame(session.page, frame);
      log(`  shell run ${run + 1} measured at: frame ${sizes.frame}, cage screen ${sizes.screen.width}x${sizes.screen.height} (its frame's size ${sizes.want.width}x${sizes.want.height})`);
      const flips = Math.max((end.flips ?? 0) - (start.flips ?? 0), 1);
      const windowSeconds = (end.at! - start.at!) / 1000;
      const parts = Object.fromEntries(Object.entries(p1).map(([k, v]) => [k, v - (p0[k] ?? 0)]));
      const sample: Sample = { updates: (byEvent[UPDATE_EVENT]?.length ?? 0) / SECONDS, shown: slotsShown(flipTimes) / windowSeconds, paints: flips / windowSeconds, viewerCpu: cpu, serverCpu: server, seconds: SECONDS, parts, threads: Object.fromEntries(Object.entries(th1).map(([k, v]) => [k, v - (th0[k] ?? 0)])) };
      addSample(result.shell, sample);
      log(sampleLine(`shell run ${run + 1}`, sample));
      log(`  shell run ${run + 1}: ${vncConnections(xvncPid)} connection(s) to the cage's VNC socket; the gateway's system calls per update: ${Object.entries(await gatewayCalls).map(([k, v]) => `${k.replace('syscalls:sys_enter_', '')} ${fmt(v / Math.max(sample.updates * SECONDS, 1), 1)}`).join(', ')}`);
      const bytes = (end.bytes ?? 0) - (start.bytes ?? 0);
      log(`  shell run ${run + 1}: the viewer read ${fmt(bytes / windowSeconds / 2 ** 20, 1)} MiB/s from the gateway (${fmt(bytes / Math.max(sample.updates * windowSeconds, 1) / 1024, 0)} KiB an update), load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
      log(`  shell run ${run + 1}: per flip ${Object.keys(end).filter((k) => k !== 'at').sort().map((k) => `${k} ${fmt(((end[k] ?? 0) - (start[k] ?? 0)) / flips)}`).join(', ')}`);
      if (run === 0 && process.env.BENCH_PROFILE) for (const line of await profileViewer(session.page, frame, 5000)) log(`    ${line}`);
      if (run === 0) {
        // Whether noVNC scales its canvas (a CSS size other than its own): every flip would then be resampled by the compositor.
        const size = await frame.evaluate(() => [...document.querySelectorAll('#screen canvas')].filter((c) => c.isConnected).map((c) => `${(c as HTMLCanvasElement).width}x${(c as HTMLCanvasElement).height} shown at ${c.getBoundingClientRect().width}x${c.getBoundingClientRect().height} CSS px, device pixel ratio ${devicePixelRatio}`));
        log(`  viewer canvas: ${size.join('; ')}`);
      }
      if (run === 0 && process.env.BENCH_TRACE) for (const line of await traceShell(session.browser, 4000)) log(`    ${line}`);
      if (run === 0) await session.page.screenshot({ path: 'bench/results/firefox-scroll-shell.png' });
    }
    await session.closeWindow();
    // BENCH_SHELL_ONLY: the shell's side alone, to weigh a change to it quickly (no ratio is printed from it).
    if (!process.env.BENCH_SHELL_ONLY)
      for (let run = 0; run < RUNS; run++)
        for (const reference of (run % 2 ? ['vncviewerLossless', 'vncviewer'] : ['vncviewer', 'vncviewerLossless']) as Reference[]) {
          const sample = await vncviewerSample(socket, xvncPid, REFERENCES[reference], log);
          addSample(result[reference], sample);
          log(sampleLine(`${reference} run ${run + 1}`, sample));
          log(`  ${reference} run ${run + 1}: load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
        }
  } finally {
    await session.close();
    await wheel;
    removeProbes();
    // The supervisor unmounts its cages' filesystems as it stops; one it could not is let go here, never deleted through.
    for (const mount of mountsUnder(root)) execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  }
  logScrollFigures(result, log);
  const whole = (f: ScrollFigures) => median(f.cpuMsPerFrame.map((v, i) => v + f.serverCpuMsPerFrame[i]!));
  for (const reference of Object.keys(REFERENCES) as Reference[])
    if (result[reference].fps.length)
      log(`  shell / ${reference}${reference === 'vncviewer' ? ' (the goal\'s reference: JPEG on its defaults)' : ' (like for like: lossless Tight)'}: updates ${fmt(median(result.shell.fps) / median(result[reference].fps))}×, whole-path CPU per update ${fmt(whole(result.shell) / whole(result[reference]))}×, Xvnc's CPU per update ${fmt(median(result.shell.serverCpuMsPerFrame) / median(result[reference].serverCpuMsPerFrame))}×, viewer side's ${fmt(median(result.shell.cpuMsPerFrame) / median(result[reference].cpuMsPerFrame))}×`);
  return result;
}

/** Chromium's own trace for `ms` (every process): the busiest threads and, in each, the events that took longest (inclusive). */
async function traceShell(browser: import('@playwright/test').Browser, ms: number): Promise<string[]> {
  const cdp = await browser.newBrowserCDPSession();
  const events: Array<{ name: string; ph: string; pid: number; tid: number; dur?: number; args?: { name?: string } }> = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...(e.value as unknown as typeof events)));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['toplevel', 'cc', 'blink', 'gpu', 'viz', 'skia', 'disabled-by-default-devtools.timeline', 'v8', 'ipc', 'mojom', 'blink.console', 'benchmark', 'renderer.scheduler'] }, transferMode: 'ReportEvents' } as never);
  await new Promise((r) => setTimeout(r, ms));
  await cdp.send('Tracing.end');
  await done;
  await cdp.detach();
  const names = new Map<string, string>();
  for (const e of events) if (e.ph === 'M' && (e.name === 'thread_name' || e.name === 'process_name')) names.set(e.name === 'thread_name' ? `${e.pid}:${e.tid}` : `${e.pid}`, e.args?.name ?? '?');
  const byThread = new Map<string, Map<string, number>>();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const key = `${names.get(`${e.pid}`) ?? e.pid} ${e.pid} ${names.get(`${e.pid}:${e.tid}`) ?? e.tid}`;
    const m = byThread.get(key) ?? new Map<string, number>();
    m.set(e.name, (m.get(e.name) ?? 0) + e.dur / 1000);
    byThread.set(key, m);
  }
  const busy = [...byThread.entries()].map(([k, m]) => [k, Math.max(...m.values()), m] as const).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return busy.flatMap(([k, top, m]) => [`${k}: ${top.toFixed(0)} ms`, ...[...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 22).map(([n, v]) => `    ${v.toFixed(0).padStart(6)} ms  ${n}`)]);
}
