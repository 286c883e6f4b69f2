/**
 * Issue #26: an Xvfb as xvfb-run starts it (no -noreset) resets each time its last client leaves,
 * dropping a client that connects meanwhile — the shell's Chromium starting while the window
 * watcher's probes came and went ("Missing X server or $DISPLAY"). What a client leaves on the
 * display (a root window property) shows whether it was reset; held (lib/displayHold.ts, bench/run.ts
 * for a whole run), it never is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { skipWithReason } from '../../supervisor/testing/skipWithReason';
import { holdDisplay, type DisplayHold } from './displayHold';

let server: ChildProcess | null = null;
let hold: DisplayHold | null = null;

/** An Xvfb of its own, reset as xvfb-run's is (its display number chosen by the server). */
async function startXvfb(): Promise<string> {
  server = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  return new Promise((resolve) => createInterface({ input: server!.stdio[3] as NodeJS.ReadableStream }).once('line', (n) => resolve(`:${n.trim()}`)));
}

/** Sets a property on the root window, then the client leaves (it was the display's only one unless held). */
function leaveMark(display: string): void {
  expect(spawnSync('xprop', ['-root', '-f', 'CLOISON_STARTFLAKE11', '8s', '-set', 'CLOISON_STARTFLAKE11', 'left'], { env: { ...process.env, DISPLAY: display } }).status).toBe(0);
}
const markThere = (display: string) => spawnSync('xprop', ['-root', 'CLOISON_STARTFLAKE11'], { encoding: 'utf8', env: { ...process.env, DISPLAY: display } }).stdout.includes('"left"');

describe('the benchmark display held', () => {
  afterEach(async () => {
    hold?.release();
    hold = null;
    if (server && server.exitCode === null) {
      const gone = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await gone;
    }
    server = null;
  });

  const missing = ['Xvfb', 'xprop'].find((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) ?? (spawnSync('/usr/bin/python3', ['-c', 'import Xlib']).status !== 0 ? 'python3-xlib' : null);

  it('unheld, the server resets once its last client has left: what it set is gone (the drop Chromium met)', async (ctx) => {
    if (missing) skipWithReason(ctx, `no ${missing}`);
    const display = await startXvfb();
    leaveMark(display);
    expect(markThere(display)).toBe(false);
  });

  it('held, it is never reset between two clients', async (ctx) => {
    if (missing) skipWithReason(ctx, `no ${missing}`);
    const display = await startXvfb();
    hold = await holdDisplay(display);
    leaveMark(display);
    expect(markThere(display)).toBe(true);
  });
});
