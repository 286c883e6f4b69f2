/**
 * "The applications open", read from the cages for apps-memory: each application named has its
 * window mapped (xdotool on that cage's own X server, in a sandbox that binds
 * only its X socket folder), and the cages' memory has stopped moving — their processes' private
 * dirty pages summed, sampled each second, within STEADY_MIB (or STEADY_SHARE of it) over the last
 * STEADY_MS. A first paint is not that: Firefox and Writer go on loading for tens of seconds after
 * their window is drawn (their tabs, their profile, their documents' fonts), and a ratio read then
 * is read against half-loaded cages.
 */
import { spawnSync } from 'node:child_process';

/**
 * The window an application maps, by its WM_CLASS, or by its title for one that sets no WM_CLASS
 * (mupdf-gl's freeglut window has none): a regular expression, xdotool's.
 */
export type WindowMatch = { class: string } | { name: string };
/** Each level's applications' windows, every one of which must be mapped in that level's cage. */
export type AppWindows = Record<string, WindowMatch[]>;

/** Steady: the cages' summed private dirty within this many MiB… */
export const STEADY_MIB = 3;
/** …or this share of it, whichever is larger… */
const STEADY_SHARE = 0.01;
/** …over this long, sampled each second. */
export const STEADY_MS = 8000;

/** Whether a window matching `match` is mapped on the cage's X server (display :0 in its socket folder). */
export function windowMapped(x11Dir: string, match: WindowMatch): boolean {
  const by = 'class' in match ? ['--class', match.class] : ['--name', match.name];
  const argv = ['bwrap', '--ro-bind', '/', '/', '--tmpfs', '/tmp', '--bind', x11Dir, '/tmp/.X11-unix', '--unshare-all', '--die-with-parent', '--', 'xdotool', 'search', '--onlyvisible', ...by];
  const run = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, DISPLAY: ':0' }, encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 && run.stdout.trim() !== '';
}

export interface Settled {
  /** ms from the wait's start until every window was mapped. */
  mappedMs: number;
  /** ms from the wait's start until the cages' memory was steady; null when it never was within the limit. */
  steadyMs: number | null;
  /** The cages' summed private dirty MiB, one sample a second, from the wait's start. */
  samples: number[];
}

/**
 * Waits until every application in `windows` (level → its windows) has its window mapped in its cage
 * (`x11DirOf(level)`), then until `cagesDirtyMiB()` is steady; gives up on the steadiness (not the
 * windows) after `limitMs`, saying so in `steadyMs`.
 */
export async function cagesSettled(windows: AppWindows, x11DirOf: (level: string) => string, cagesDirtyMiB: () => number, limitMs: number): Promise<Settled> {
  const t0 = Date.now();
  const samples: number[] = [];
  let mappedMs: number | null = null;
  const window = STEADY_MS / 1000 + 1;
  for (;;) {
    samples.push(cagesDirtyMiB());
    if (mappedMs === null && Object.entries(windows).every(([level, matches]) => matches.every((m) => windowMapped(x11DirOf(level), m)))) mappedMs = Date.now() - t0;
    const recent = samples.slice(-window);
    if (mappedMs !== null && recent.length === window) {
      const spread = Math.max(...recent) - Math.min(...recent);
      if (spread <= Math.max(STEADY_MIB, STEADY_SHARE * recent.at(-1)!)) return { mappedMs, steadyMs: Date.now() - t0, samples };
    }
    if (Date.now() - t0 > limitMs) {
      if (mappedMs === null) {
        const missing = Object.entries(windows).flatMap(([level, matches]) => matches.filter((m) => !windowMapped(x11DirOf(level), m)).map((m) => `${level} ${JSON.stringify(m)}`));
        throw new Error(`the applications' windows were not all mapped within ${limitMs / 1000} s: none yet for ${missing.join(', ')}`);
      }
      return { mappedMs, steadyMs: null, samples };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
