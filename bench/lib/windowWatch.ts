/**
 * A start read from outside the shell, as a user sees it: the pixels of npm start's own window
 * (its Chromium, sandboxed, no DevTools, nothing of the benchmark inside it) on the benchmark's X
 * display, through a small X client (python3-xlib's GetImage, ~20 readings a second) that reads a
 * sampled grid of the viewer's area — a dozen one-pixel rows across the frame's clip box, every 16th
 * pixel — and one pixel of the frame's border, whose colour is the level in front's. The area comes
 * from the shell's layout (renderer/styles.css) at the window's size: the band (48 px), the frame's
 * border (6 px) and its title strip (22 px).
 *
 * "First full frame": at least FULL_SHARE of the grid no longer dark — the shell's waiting look
 * (its stage #111, the frame #000, the waiting card #1d1d1d, the dimmer) gone, the cage's desktop
 * (its tone of the level's colour, xsetroot) or an application drawn in its place. "Application
 * seen": at least PAINTED_SHARE of the grid light, as paintWatch.ts reads the cages. The level in
 * the back is brought to the front as a user would: the shell's shortcut (Ctrl+Alt+PageDown) typed
 * on the display with xdotool as soon as a reading shows the one in front owes nothing more. The
 * cage-side reading (each cage's own X screen, for "application painted in its cage") is one long-lived
 * sampler a cage (cageLightWatch.ts), not a whole-screen xwd at each look.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { watchCageLight } from './cageLightWatch';
import { PAINTED_SHARE, type StartPaints } from './paintWatch';

/** The shell's layout (renderer/styles.css): band, frame border, frame title, in CSS pixels (device scale 1 here). */
export const SHELL_LAYOUT = { band: 48, frame: 6, title: 22 };
/** A pixel of the shell's waiting look: no channel above this (#000, #111, #1d1d1d, the dimmer). */
const DARK_MAX = 40;
/** "Full frame": at least this share of the grid not dark. */
const FULL_SHARE = 0.95;
/** A border pixel is a level's colour when each channel is within this of it. */
const COLOUR_SLACK = 24;

const SAMPLER = String.raw`
import json, sys, time
from Xlib import X, display
d = display.Display()
win = d.create_resource_object('window', int(sys.argv[1]))
band, frame, title, period, dark, light = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
ROWS, STEP = 12, 16
while True:
    t = time.time()
    try:
        g = win.get_geometry()
        x0, x1, y0, y1 = frame, g.width - frame, band + frame + title, g.height - frame
        b = win.get_image(frame // 2, (y0 + y1) // 2, 1, 1, X.ZPixmap, 0xffffffff).data
        clear = lit = n = 0
        for k in range(ROWS):
            row = win.get_image(x0, y0 + int((k + 0.5) * (y1 - y0) / ROWS), x1 - x0, 1, X.ZPixmap, 0xffffffff).data
            for i in range(0, len(row) - 3, 4 * STEP):
                bb, gg, rr = row[i], row[i + 1], row[i + 2]
                n += 1
                if max(rr, gg, bb) > dark: clear += 1
                if rr + gg + bb > light: lit += 1
        print(json.dumps({'t': t * 1000, 'w': g.width, 'h': g.height, 'border': [b[2], b[1], b[0]], 'clear': clear / max(n, 1), 'light': lit / max(n, 1)}), flush=True)
    except Exception as e:
        print(json.dumps({'t': t * 1000, 'error': type(e).__name__}), flush=True)
    time.sleep(max(0.0, period - (time.time() - t)))
`;

export interface WindowReading {
  /** Epoch ms of the reading (the same clock as Date.now()). */
  t: number;
  w?: number;
  h?: number;
  border?: [number, number, number];
  /** Share of the viewer's grid not dark (the waiting look gone). */
  clear?: number;
  /** Share of the viewer's grid light. */
  light?: number;
  error?: string;
}

/** Why the window cannot be read here (python3-xlib or xdotool missing), or null. */
export function windowReaderMissing(): string | null {
  if (spawnSync('/usr/bin/python3', ['-c', 'import Xlib'], { stdio: 'ignore' }).status !== 0) return 'no python3-xlib for /usr/bin/python3 (apt install python3-xlib)';
  if (spawnSync('xdotool', ['version'], { stdio: 'ignore' }).status !== 0) return 'no xdotool';
  return null;
}

/** The shell's window on the display: the largest visible Chromium window, once there is one. */
export async function findShellWindow(limitMs: number, alive: () => boolean): Promise<{ id: string; width: number; height: number }> {
  for (const deadline = Date.now() + limitMs; ; await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline || !alive()) throw new Error("npm start's window did not appear on the display");
    const ids = spawnSync('xdotool', ['search', '--onlyvisible', '--class', 'chromium'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const sized = ids.map((id) => {
      const m = /WIDTH=(\d+)\nHEIGHT=(\d+)/.exec(spawnSync('xdotool', ['getwindowgeometry', '--shell', id], { encoding: 'utf8' }).stdout);
      return { id, width: Number(m?.[1] ?? 0), height: Number(m?.[2] ?? 0) };
    });
    const largest = sized.sort((a, b) => b.width * b.height - a.width * a.height)[0];
    if (largest && largest.width > 200 && largest.height > 200) return largest;
  }
}

/** Starts the window's sampler; each reading to `onReading`. */
export function sampleWindow(id: string, periodMs: number, onReading: (r: WindowReading) => void): { stop(): void; process: ChildProcess } {
  // The system's python3 (python3-xlib is a Debian package), not one a PATH may put first.
  const child = spawn('/usr/bin/python3', ['-c', SAMPLER, id, String(SHELL_LAYOUT.band), String(SHELL_LAYOUT.frame), String(SHELL_LAYOUT.title), String(periodMs / 1000), String(DARK_MAX), '400'], { stdio: ['ignore', 'pipe', 'ignore'] });
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      onReading(JSON.parse(l) as WindowReading);
    } catch {
      /* a partial line at its end */
    }
  });
  return { process: child, stop: () => void (child.exitCode === null && child.kill('SIGKILL')) };
}

/** A process's CPU so far (user + system), ms; -1 when gone. */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return -1;
  }
}

const hex = (c: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];

/** Which level a border pixel names, by the levels' colours; null for none (the launch page, a dialog). */
export function levelOfBorder(border: readonly number[], colours: Record<string, string>): string | null {
  for (const [level, colour] of Object.entries(colours)) if (hex(colour).every((c, i) => Math.abs(c - border[i]!) <= COLOUR_SLACK)) return level;
  return null;
}

export interface WindowWatchOptions {
  t0: number;
  levels: readonly string[];
  /** Each level's colour (the frame's border), as the policy says. */
  colours: Record<string, string>;
  x11DirOf: (level: string) => string;
  limitMs: number;
  /** The cage side's polling (xwd in a sandbox: paintWatch.ts's reading). */
  pollMs: number;
  /** The window's readings. */
  periodMs: number;
  /** False once npm start has ended. */
  alive: () => boolean;
  /** Every reading, to check what the thresholds saw (BENCH_WINDOW_TRACE). */
  trace?: WindowReading[];
}

/**
 * Watches a start in npm start's window until every level's cage has shown its first full frame in
 * the window and its application painted both in its cage and in the window (the same moments and
 * switching logic as paintWatch.ts's watchStart, read from outside).
 */
export async function watchStartInWindow(o: WindowWatchOptions): Promise<StartPaints & { window: string; readings: number; samplerCpuMs: number }> {
  const r: StartPaints = { cageFrame: {}, appInShell: {}, appInCage: {}, switches: [] };
  const window = await findShellWindow(o.limitMs, o.alive);
  let front = null as string | null;
  let readings = 0;
  let typedAt = 0;
  const owes = (level: string) => r.cageFrame[level] === undefined || (r.appInCage[level] !== undefined && r.appInShell[level] === undefined);
  const done = () => o.levels.every((l) => r.cageFrame[l] !== undefined && r.appInShell[l] !== undefined && r.appInCage[l] !== undefined);
  // The user's shortcut to the next level as soon as a reading shows the one in front owes nothing
  // more (not at the benchmark's next look), typed again if the window still shows the same level a second later.
  const switchIfDone = () => {
    const shown = front;
    if (!shown || owes(shown) || done()) return;
    const next = o.levels.find((l) => l !== shown && owes(l));
    if (!next || Date.now() - typedAt <= 1000) return;
    typedAt = Date.now();
    spawn('xdotool', ['windowfocus', window.id, 'key', 'ctrl+alt+Next'], { stdio: 'ignore' }).on('error', () => undefined);
    r.switches.push({ to: next, at: typedAt - o.t0 });
  };
  const sampler = sampleWindow(window.id, o.periodMs, (s) => {
    o.trace?.push(s);
    if (s.border === undefined || s.clear === undefined || s.light === undefined) return;
    readings++;
    front = levelOfBorder(s.border, o.colours);
    if (!front) return;
    const at = Math.round(s.t - o.t0);
    if (s.clear >= FULL_SHARE) r.cageFrame[front] ??= at;
    if (s.light >= PAINTED_SHARE) r.appInShell[front] ??= at;
    switchIfDone();
  });
  const cages = o.levels.map((level) =>
    watchCageLight(o.x11DirOf(level), o.pollMs, (share, at) => {
      if (share < PAINTED_SHARE || r.appInCage[level] !== undefined) return;
      r.appInCage[level] = Math.round(at - o.t0);
      switchIfDone();
    }),
  );
  try {
    for (const deadline = o.t0 + o.limitMs; !done(); await new Promise((res) => setTimeout(res, o.pollMs))) {
      if (Date.now() > deadline) throw new Error(`not painted in npm start's window within ${o.limitMs / 1000} s (so far: ${JSON.stringify(r)}; ${readings} readings of window ${window.id}, ${window.width}x${window.height})`);
      if (!o.alive()) throw new Error('npm start ended during the start');
      switchIfDone();
    }
    return { ...r, window: `${window.width}x${window.height}`, readings, samplerCpuMs: cpuMs(sampler.process.pid) };
  } finally {
    sampler.stop();
    for (const c of cages) c.stop();
  }
}
