/**
 * One X client kept connected to the benchmark's display for as long as a start is watched (issue #26).
 *
 * xvfb-run starts Xvfb without -noreset: each time its last client disconnects, the server resets,
 * and a client connecting meanwhile is dropped. Before npm start's window is up, the display's only
 * clients are the window watcher's xdotool probes (one short connection every 100 ms,
 * lib/windowWatch.ts) and the shell's Chromium starting: a probe ending as Chromium connects reset
 * the server under it, and Chromium ended at once ("Missing X server or $DISPLAY", status 1), and
 * npm start with it, before its window appeared — about 3 starts in 90 at load 5–20. A user's
 * desktop always has clients (its window manager, its panel): its server never resets then.
 * Holding one connection from before npm start is started to its end keeps the benchmark's display
 * like a desktop's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const HOLDER = String.raw`
import sys, time
from Xlib import display
for attempt in range(200):
    try:
        d = display.Display()
        d.sync()
        break
    except Exception:
        time.sleep(0.05)
else:
    sys.exit(1)
print('held', flush=True)
sys.stdin.read()
`;

export interface DisplayHold {
  process: ChildProcess;
  release(): void;
}

/** Connects one client to `display` (tried again for up to ~10 s: the server may be resetting) and keeps it until release(). */
export async function holdDisplay(display = process.env.DISPLAY): Promise<DisplayHold> {
  // The system's python3 (python3-xlib is a Debian package), as lib/windowWatch.ts's sampler.
  const child = spawn('/usr/bin/python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, DISPLAY: display } });
  const held = await new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(l === 'held'));
    child.once('exit', () => resolve(false));
  });
  const release = () => {
    child.stdin!.end();
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  if (!held) {
    release();
    throw new Error(`could not connect to the display ${display ?? '(no DISPLAY)'} to hold it`);
  }
  return { process: child, release };
}
