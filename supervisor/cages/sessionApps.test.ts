/**
 * The autostarted applications wait for the cage's window manager to run, on a real X server with
 * the real openbox started as the session starts it: they start once it manages the screen (so it
 * maps and focuses them), not before it, and not 5 s later either (watched, not polled). And a
 * window mapped while openbox starts — a launcher entry chosen then, or a test's program — is mapped
 * (openbox alone leaves it unmapped until another event reaches it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WINDOW_MANAGER_ARGV, WM_READY, WM_RUNNING_PROPERTY } from './sessionApps';

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

const announced = () => new RegExp(`^${WM_RUNNING_PROPERTY}\\(STRING\\) = "yes"`, 'm').test(spawnSync('xprop', ['-root', WM_RUNNING_PROPERTY], { env: { ...process.env, DISPLAY: display }, encoding: 'utf8' }).stdout);

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

  it('ends once openbox, started after the wait began as the session starts it, runs its loop — not before, and not at the bound', async () => {
    const waiting = waitForWm();
    await new Promise((r) => setTimeout(r, 800));
    const wm = spawn(WINDOW_MANAGER_ARGV[0]!, WINDOW_MANAGER_ARGV.slice(1), { env: { PATH: process.env.PATH, DISPLAY: display, HOME: '/nonexistent' }, stdio: 'ignore' });
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

/** An X server of the test's own: its display, and how to stop it. */
async function ownXServer(): Promise<{ display: string; stop: () => void }> {
  const server = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '640x480x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const number = await new Promise<string>((r) => createInterface({ input: server.stdio[3] as NodeJS.ReadableStream }).once('line', r));
  return { display: `:${number.trim()}`, stop: () => server.kill('SIGTERM') };
}

const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the window manager (`argv`) on an X server of its own, stops it the moment it has taken the
 * screen (its _NET_SUPPORTING_WM_CHECK: in the middle of its start), maps a window, lets it go on:
 * whether the window is mapped 3 s later — or 'late' when the window manager was stopped after its
 * start had ended (the session's sets its running property there).
 */
async function windowMappedDuringStart(argv: string[]): Promise<'mapped' | 'unmapped' | 'late'> {
  const x = await ownXServer();
  const env = { PATH: process.env.PATH, DISPLAY: x.display, HOME: '/nonexistent' };
  const spy = spawn('xprop', ['-spy', '-root'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const taken = new Promise<void>((r) => createInterface({ input: spy.stdout! }).on('line', (line) => { if (line.startsWith('_NET_SUPPORTING_WM_CHECK(')) r(); }));
  await until(300); // xprop's first listing (no window manager yet) printed
  const wm = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
  let window: ChildProcess | null = null;
  try {
    await taken;
    wm.kill('SIGSTOP');
    const running = spawnSync('xprop', ['-root', WM_RUNNING_PROPERTY], { env, encoding: 'utf8' }).stdout.includes('"yes"');
    window = spawn('xmessage', ['-name', 'mapped-during-start', '-title', 'mapped-during-start', 'bonjour'], { env, stdio: 'ignore' });
    await until(500);
    wm.kill('SIGCONT');
    if (running) return 'late';
    for (let i = 0; i < 30; i++) {
      await until(100);
      if (/Map State: IsViewable/.test(spawnSync('xwininfo', ['-name', 'mapped-during-start'], { env, encoding: 'utf8' }).stdout)) return 'mapped';
    }
    return 'unmapped';
  } finally {
    window?.kill('SIGTERM');
    spy.kill('SIGTERM');
    wm.kill('SIGCONT');
    wm.kill('SIGTERM');
    x.stop();
  }
}

describe('a window mapped while the window manager starts', () => {
  it('stays unmapped with openbox alone; is mapped with openbox as the session starts it', async () => {
    // Stopped in the middle of its start, openbox alone loses the map request every time; tried up to
    // five times in case the stop comes after its start on a loaded machine.
    let alone = '';
    for (let i = 0; i < 5 && alone !== 'unmapped'; i++) alone = await windowMappedDuringStart(['openbox']);
    expect(alone).toBe('unmapped');
    let session = 'late';
    for (let i = 0; i < 5 && session === 'late'; i++) session = await windowMappedDuringStart(WINDOW_MANAGER_ARGV);
    expect(session).toBe('mapped');
  }, 120_000);
});
