/**
 * A TigerVNC Xvnc display of a test's own (Xvfb ignores keymap changes), and what a test reads on
 * it: a window's geometry and state (xwininfo, xprop). scripts/shellWindowCover.test.ts and
 * scripts/startDisplay.test.ts (issue #26). The e2e specs have theirs (e2e/support/hostDisplay.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './waitFor';

/** Runs an X client on the display; its stdout, or null. */
export function xClient(program: string, args: string[], display: string): string | null {
  const r = spawnSync(program, args, { env: { PATH: '/usr/bin:/bin', DISPLAY: display }, encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : null;
}

export interface XvncDisplay {
  display: string;
  stop(): Promise<void>;
}

/** Stops a process group started detached, SIGTERM then SIGKILL. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      /* gone */
    }
  };
  signal('SIGTERM');
  for (const deadline = Date.now() + 5000; child.exitCode === null && child.signalCode === null && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  signal('SIGKILL');
}

/** Xvnc on a free display number (700–899, no TCP, no VNC port), answering, with this keymap. */
export async function startXvnc(width: number, height: number, layout = 'us'): Promise<XvncDisplay> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-xvnc-'));
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 700 + Math.floor(Math.random() * 200);
    if (existsSync(`/tmp/.X${n}-lock`) || existsSync(`/tmp/.X11-unix/X${n}`)) continue;
    const server = spawn('Xvnc', [`:${n}`, '-nolisten', 'tcp', '-rfbport', '-1', '-rfbunixpath', join(dir, 'vnc.sock'), '-SecurityTypes', 'None', '-geometry', `${width}x${height}`, '-depth', '24'], { env: { PATH: '/usr/bin:/bin' }, stdio: 'ignore', detached: true });
    const display = `:${n}`;
    let up = false;
    await waitFor(() => {
      if (server.exitCode !== null) return true;
      up = xClient('xdpyinfo', [], display) !== null;
      return up;
    }, `Xvnc on ${display}`, 15_000, 100);
    const stop = async () => {
      await stopGroup(server);
      rmSync(dir, { recursive: true, force: true });
    };
    if (!up) {
      await stopGroup(server);
      continue;
    }
    if (xClient('setxkbmap', ['-option', '', '-layout', layout, '-variant', ''], display) === null) {
      await stop();
      throw new Error(`setxkbmap ${layout} on ${display} failed`);
    }
    return { display, stop };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('no free X display number');
}

export interface WindowGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
  /** xprop's _NET_WM_STATE line. */
  state: string;
}

/** The first visible window `xdotool search` finds with these arguments, once its geometry holds still (1 s). */
export async function settledWindow(display: string, search: string[], timeoutMs = 60_000): Promise<WindowGeometry> {
  let geometry: WindowGeometry | null = null;
  let last = '';
  let same = 0;
  await waitFor(() => {
    const id = xClient('xdotool', ['search', '--onlyvisible', ...search], display)?.trim().split('\n')[0];
    if (!id) return false;
    const info = xClient('xwininfo', ['-id', id], display) ?? '';
    const field = (name: string) => Number(new RegExp(`${name}:\\s*(-?\\d+)`).exec(info)?.[1]);
    const state = xClient('xprop', ['-id', id, '_NET_WM_STATE'], display) ?? '';
    geometry = { x: field('Absolute upper-left X'), y: field('Absolute upper-left Y'), width: field('Width'), height: field('Height'), state };
    const now = JSON.stringify(geometry);
    same = now === last ? same + 1 : 0;
    last = now;
    return same >= 4;
  }, 'the window, mapped and settled', timeoutMs, 250);
  return geometry!;
}

/** Whether the window covers the whole width×height screen. */
export function covers(window: WindowGeometry, width: number, height: number): boolean {
  return window.x <= 0 && window.y <= 0 && window.x + window.width >= width && window.y + window.height >= height;
}
