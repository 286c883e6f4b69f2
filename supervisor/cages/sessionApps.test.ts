/**
 * The autostarted applications wait for the cage's window manager to announce itself, on a real X
 * server with the real openbox: they start once it manages the screen (so it maps and focuses
 * them), not before it, and not 5 s later either (the announcement is watched, not polled).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WM_READY } from './sessionApps';

let xvfb: ChildProcess;
let display = '';
const wms: ChildProcess[] = [];

/** Runs the wait as the launcher would (sh -c), on the test's display; its milliseconds. */
function waitForWm(): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const sh = spawn('sh', ['-c', WM_READY], { env: { PATH: process.env.PATH, DISPLAY: display }, stdio: 'ignore' });
    sh.on('error', reject);
    sh.on('exit', () => resolve(Date.now() - started));
  });
}

const announced = () => /_NET_SUPPORTING_WM_CHECK\(WINDOW\): window id/.test(spawnSync('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], { env: { ...process.env, DISPLAY: display }, encoding: 'utf8' }).stdout);

describe("the applications' wait for the window manager", () => {
  beforeAll(async () => {
    xvfb = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    display = `:${(await new Promise<string>((r) => createInterface({ input: xvfb.stdio[3] as NodeJS.ReadableStream }).once('line', r))).trim()}`;
  });
  afterAll(() => {
    for (const wm of wms) wm.kill('SIGTERM');
    xvfb?.kill('SIGTERM');
  });

  it('with no window manager yet, waits (5 s at most): "no such atom on any window" is no announcement', async () => {
    expect(announced()).toBe(false);
    const ms = await waitForWm();
    expect(announced()).toBe(false);
    expect(ms).toBeGreaterThanOrEqual(4900);
    expect(ms).toBeLessThan(8000);
  }, 15_000);

  it('ends once openbox, started after the wait began, has announced itself — not before, and not at the bound', async () => {
    const waiting = waitForWm();
    await new Promise((r) => setTimeout(r, 800));
    const wm = spawn('openbox', [], { env: { PATH: process.env.PATH, DISPLAY: display, HOME: '/nonexistent' }, stdio: 'ignore' });
    wms.push(wm);
    const ms = await waiting;
    expect(announced()).toBe(true);
    expect(ms).toBeGreaterThan(800);
    expect(ms).toBeLessThan(4500);
  }, 15_000);

  it('ends at once when the window manager is already there', async () => {
    expect(announced()).toBe(true);
    expect(await waitForWm()).toBeLessThan(1500);
  }, 15_000);
});
