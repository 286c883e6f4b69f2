/**
 * When a start is "painted", read two ways for the application benchmarks:
 *
 * - in the shell (what the user sees): each level's viewer canvas. A hidden viewer decodes its
 *   cage's first screen only, then reads nothing until shown (pacedChannel.ts), and the level in the
 *   back is seen only after a switch to it — the watcher switches as a user would, with the band's
 *   button, to a level that still has something to show;
 * - in each cage (when the application has drawn, whatever the shell shows): the cage's own X
 *   server's framebuffer (xwd, run in a sandbox that binds only that cage's X socket folder), the
 *   same reading the bare reference gets from its Xvnc.
 *
 * "First full frame": every sampled pixel of the viewer's canvas opaque (the cage's whole screen
 * drawn once, whatever it shows). "Application painted": at least PAINTED_SHARE of the screen
 * light (Firefox's chrome and page, Writer's page and toolbars); a black window, the desktop's
 * muted tone or a splash screen does not reach it.
 */
import { spawnSync } from 'node:child_process';
import type { Page } from '@playwright/test';
import { saveViewerCanvas } from './shellSession';

/** A light pixel: channels summed over this (as the e2e tests read it). */
export const LIGHT_SUM = 400;
/** "Painted": at least this share of the screen light — the autostarted window drawn. */
export const PAINTED_SHARE = 0.3;
/** "Full frame": at least this share of the viewer's canvas opaque (noVNC's canvas starts transparent). */
const FULL_SHARE = 0.999;

export interface CanvasReading {
  opaque: number;
  light: number;
  /** The canvas's own size: the cage's screen as the viewer last drew it. */
  width: number;
  height: number;
}

/** What a level's viewer shows: its noVNC canvas sampled on a 96 × 60 grid; null while it has none. */
export async function readViewer(page: Page, level: string): Promise<CanvasReading | null> {
  try {
    const frame = await (await page.$(`[data-testid=viewer-frame-${level}]`))?.contentFrame();
    if (!frame) return null;
    return await frame.evaluate((sum) => {
      const canvas = [...document.querySelectorAll<HTMLCanvasElement>('#screen canvas')].find((c) => c.isConnected && c.width > 0);
      if (!canvas) return null;
      const small = document.createElement('canvas');
      small.width = 96;
      small.height = 60;
      const g = small.getContext('2d')!;
      g.drawImage(canvas, 0, 0, 96, 60);
      const d = g.getImageData(0, 0, 96, 60).data;
      let light = 0;
      let opaque = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3]! >= 250) opaque++;
        if (d[i]! + d[i + 1]! + d[i + 2]! > sum) light++;
      }
      return { opaque: opaque / (96 * 60), light: light / (96 * 60), width: canvas.width, height: canvas.height };
    }, LIGHT_SUM);
  } catch {
    return null;
  }
}

/**
 * The light share of an X display's root window as its server holds it (xwd), sampled every 8th
 * pixel; 0 when it cannot be read. `x11Dir`: a cage's X socket folder, bound as /tmp/.X11-unix in
 * a sandbox of its own (display :0 there); without it, a display of this machine.
 */
export function xLightShare(display: string, x11Dir?: string): number {
  const argv = x11Dir
    ? ['bwrap', '--ro-bind', '/', '/', '--tmpfs', '/tmp', '--bind', x11Dir, '/tmp/.X11-unix', '--unshare-all', '--die-with-parent', '--', 'xwd', '-root', '-silent', '-display', display]
    : ['xwd', '-root', '-silent', '-display', display];
  const xwd = spawnSync(argv[0]!, argv.slice(1), { maxBuffer: 128 * 2 ** 20 });
  if (xwd.status !== 0) return 0;
  return xwdLightShare(xwd.stdout);
}

/** xwd writes 32 or 24 bits a pixel (the latter seen while an application maps its window). */
function xwdLightShare(b: Buffer): number {
  const field = (i: number) => b.readUInt32BE(i * 4);
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine, ncolors] = [field(4), field(5), field(7), field(11), field(12), field(19)];
  if (bitsPerPixel !== 32 && bitsPerPixel !== 24) throw new Error(`xwd: ${bitsPerPixel} bits a pixel, 24 or 32 expected`);
  const masks = [field(14), field(15), field(16)];
  const data = field(0) + ncolors * 12;
  const shift = (mask: number) => 31 - Math.clz32(mask & -mask);
  let light = 0;
  let all = 0;
  for (let y = 0; y < height; y += 8) {
    for (let x = 0; x < width; x += 8) {
      const at = data + y * bytesPerLine + (x * bitsPerPixel) / 8;
      const p = bitsPerPixel === 32 ? (byteOrder === 0 ? b.readUInt32LE(at) : b.readUInt32BE(at)) : byteOrder === 0 ? b.readUIntLE(at, 3) : b.readUIntBE(at, 3);
      all++;
      if (masks.reduce((sum, m) => sum + ((p & m) >>> shift(m)), 0) > LIGHT_SUM) light++;
    }
  }
  return light / all;
}

/** Milliseconds from the start to each moment, per level. */
export interface StartPaints {
  /** The cage's first full frame in the shell. */
  cageFrame: Record<string, number>;
  /** Its application painted, seen in the shell (the level in front). */
  appInShell: Record<string, number>;
  /** Its application painted in the cage's own X server. */
  appInCage: Record<string, number>;
  /** Each switch the watcher made: to which level, when. */
  switches: Array<{ to: string; at: number }>;
}

export interface WatchOptions {
  page: Page;
  t0: number;
  levels: readonly string[];
  /** Each level's X socket folder on the host (the cage's, while it runs). */
  x11DirOf: (level: string) => string;
  limitMs: number;
  pollMs: number;
  /** 'cages': done once every cage's first full frame is seen (the applications not waited for nor read). */
  until?: 'cages';
  /** Each reading of the level in front (a profile's timeline), null while its viewer has no canvas. */
  onReading?: (level: string, reading: CanvasReading | null) => void;
}

/**
 * Watches a start until every level's cage has shown its first full frame in the shell and its
 * application painted both in its cage and in the shell. The first level is in front at start;
 * a level still owing a first frame, or whose application has painted in its cage but was not yet
 * seen in the shell, is brought to the front when the one in front owes nothing more.
 */
export async function watchStart(o: WatchOptions): Promise<StartPaints> {
  const r: StartPaints = { cageFrame: {}, appInShell: {}, appInCage: {}, switches: [] };
  let front = o.levels[0]!;
  const cagesOnly = o.until === 'cages';
  const owes = (level: string) => r.cageFrame[level] === undefined || (!cagesOnly && r.appInCage[level] !== undefined && r.appInShell[level] === undefined);
  const done = () => o.levels.every((l) => r.cageFrame[l] !== undefined && (cagesOnly || (r.appInShell[l] !== undefined && r.appInCage[l] !== undefined)));
  for (const deadline = o.t0 + o.limitMs; !done(); await o.page.waitForTimeout(o.pollMs)) {
    if (Date.now() > deadline) {
      const saved = await Promise.all(o.levels.map((level) => saveViewerCanvas(o.page, level, `bench/results/unpainted-${level}.png`)));
      throw new Error(`not painted within ${o.limitMs / 1000} s (so far: ${JSON.stringify(r)}; what the viewers showed: ${saved.filter(Boolean).join(', ') || 'no canvas'})`);
    }
    for (const level of cagesOnly ? [] : o.levels) {
      if (r.appInCage[level] === undefined && xLightShare(':0', o.x11DirOf(level)) >= PAINTED_SHARE) r.appInCage[level] = Date.now() - o.t0;
    }
    const seen = await readViewer(o.page, front);
    o.onReading?.(front, seen);
    if (seen && seen.opaque >= FULL_SHARE) r.cageFrame[front] ??= Date.now() - o.t0;
    if (seen && seen.light >= PAINTED_SHARE) r.appInShell[front] ??= Date.now() - o.t0;
    const next = o.levels.find((l) => l !== front && owes(l));
    if (!owes(front) && next) {
      await o.page.getByTestId(`switch-${next}`).click();
      front = next;
      r.switches.push({ to: next, at: Date.now() - o.t0 });
    }
  }
  return r;
}
