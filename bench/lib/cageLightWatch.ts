/**
 * A cage's own screen read while a start runs, for "application painted in its cage": one small X
 * client a cage (python3-xlib's GetImage on a grid of rows of the root window, every 8th pixel),
 * started once in a sandbox that binds only that cage's X socket folder (display :0 there) and
 * kept until the start is read. It replaces a whole-screen `xwd` in a new sandbox at every look
 * (paintWatch.ts's xLightShare, kept for the other benchmarks): two of those every 100 ms cost
 * ~50 ms of CPU and blocked the benchmark's loop ~140 ms, on the two cores the start it measures runs on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LIGHT_SUM } from './paintWatch';

const SAMPLER = String.raw`
import json, sys, time
from Xlib import X, display
period, light, rows, step = float(sys.argv[1]), int(sys.argv[2]), 48, 8
while True:
    try:
        d = display.Display(':0')
        break
    except Exception:
        time.sleep(period)
root = d.screen().root
while True:
    t = time.time()
    try:
        g = root.get_geometry()
        lit = n = 0
        for k in range(rows):
            row = root.get_image(0, int((k + 0.5) * g.height / rows), g.width, 1, X.ZPixmap, 0xffffffff).data
            for i in range(0, len(row) - 3, 4 * step):
                n += 1
                if row[i] + row[i + 1] + row[i + 2] > light: lit += 1
        print(json.dumps({'t': t * 1000, 'light': lit / max(n, 1)}), flush=True)
    except Exception as e:
        print(json.dumps({'t': t * 1000, 'error': type(e).__name__}), flush=True)
    time.sleep(max(0.0, period - (time.time() - t)))
`;

export interface CageLightWatch {
  /** Stops the sampler (if it was started). */
  stop(): void;
}

/**
 * Calls `onLight(share, epochMs)` with the light share of the cage's screen every `periodMs`, from
 * when its X socket appears (looked for every `periodMs`) until stopped.
 */
export function watchCageLight(x11Dir: string, periodMs: number, onLight: (share: number, at: number) => void): CageLightWatch {
  let child: ChildProcess | undefined;
  let stopped = false;
  const start = () => {
    if (stopped) return;
    if (!existsSync(join(x11Dir, 'X0'))) {
      timer = setTimeout(start, periodMs);
      return;
    }
    // The system's python3 (python3-xlib is a Debian package), in the sandbox xLightShare's xwd ran in.
    child = spawn('bwrap', ['--ro-bind', '/', '/', '--tmpfs', '/tmp', '--bind', x11Dir, '/tmp/.X11-unix', '--unshare-all', '--die-with-parent', '--', '/usr/bin/python3', '-c', SAMPLER, String(periodMs / 1000), String(LIGHT_SUM)], { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        const r = JSON.parse(l) as { t: number; light?: number };
        if (r.light !== undefined) onLight(r.light, r.t);
      } catch {
        /* a partial line at its end */
      }
    });
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(start, 0);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (child && child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
