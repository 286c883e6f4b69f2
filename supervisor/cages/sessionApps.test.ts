/**
 * The autostarted applications start as soon as the cage's X server takes clients, beside its
 * window manager's start (#26): what that relies on, on a real X server with the real openbox and
 * the cages' own openbox configuration (every application window maximized). A window an
 * application maps before openbox has started is managed and maximized by it all the same, as one
 * mapped after; and nothing is run in the cage before they are launched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CageLauncher } from './cageLauncher';
import { HOST_OPENBOX_RC, withMaximizedWindows } from './cageAppSettings';
import { startSessionApps } from './sessionApps';

const missing = ['Xvfb', 'openbox', 'xterm', 'xprop', 'xdotool'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
let hostRc: string | null = null;
try {
  hostRc = readFileSync(HOST_OPENBOX_RC, 'utf8');
} catch {
  /* no openbox configuration on this host: skipped */
}

let xvfb: ChildProcess;
let display = '';
let config = '';
const started: ChildProcess[] = [];
const env = () => ({ PATH: process.env.PATH, DISPLAY: display, HOME: '/nonexistent', XDG_CONFIG_HOME: join(config, 'none'), XDG_CONFIG_DIRS: config });
const x = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { env: env(), encoding: 'utf8' }).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (5 s at most) until `test` holds. */
async function until(test: () => boolean): Promise<boolean> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(50)) if (test()) return true;
  return test();
}

/** An xterm of its own class, mapped; its window id. */
async function mappedWindow(name: string): Promise<string> {
  started.push(spawn('xterm', ['-class', name, '-geometry', '30x8'], { env: env(), stdio: 'ignore' }));
  let id = '';
  await until(() => (id = x(['xdotool', 'search', '--onlyvisible', '--class', name]).split('\n')[0] ?? '') !== '');
  return id;
}

const maximized = (id: string) => /_NET_WM_STATE_MAXIMIZED_VERT.*_NET_WM_STATE_MAXIMIZED_HORZ|_NET_WM_STATE_MAXIMIZED_HORZ.*_NET_WM_STATE_MAXIMIZED_VERT/.test(x(['xprop', '-id', id, '_NET_WM_STATE']));
const managed = (id: string) => /_NET_FRAME_EXTENTS\(CARDINAL\) = /.test(x(['xprop', '-id', id, '_NET_FRAME_EXTENTS']));

describe.skipIf(missing.length > 0 || hostRc === null)("the cage's applications started beside its window manager", () => {
  beforeAll(async () => {
    config = mkdtempSync(join(tmpdir(), 'cloison-appstart-11-openbox-'));
    mkdirSync(join(config, 'openbox'));
    writeFileSync(join(config, 'openbox', 'rc.xml'), withMaximizedWindows(hostRc!));
    xvfb = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '800x600x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    display = `:${(await new Promise<string>((r) => createInterface({ input: xvfb.stdio[3] as NodeJS.ReadableStream }).once('line', r))).trim()}`;
  });
  afterAll(() => {
    for (const p of started) p.kill('SIGTERM');
    xvfb?.kill('SIGTERM');
    if (config) rmSync(config, { recursive: true, force: true });
  });

  it('a window mapped before openbox started is managed and maximized once it has; one mapped after too', async () => {
    const before = await mappedWindow('CloisonAppstart11Before');
    expect(before).not.toBe('');
    expect(managed(before)).toBe(false);
    expect(maximized(before)).toBe(false);
    started.push(spawn('openbox', [], { env: env(), stdio: 'ignore' }));
    expect(await until(() => managed(before) && maximized(before))).toBe(true);
    const after = await mappedWindow('CloisonAppstart11After');
    expect(await until(() => managed(after) && maximized(after))).toBe(true);
  }, 20_000);

  it('the applications are launched once what comes before them is done, with nothing run in the cage before them (no wait for the window manager or the sound server)', async () => {
    const calls: string[] = [];
    const launcher = {
      run: async (request: { argv: string[] }) => {
        calls.push(`run ${request.argv.join(' ')}`);
        return { code: 0, stdout: '', stderr: '' };
      },
      launch: async (request: { argv: string[] }) => {
        calls.push(`launch ${request.argv.join(' ')}${seeded ? '' : ' (before the profile)'}`);
        return { pid: 1 };
      },
    } as unknown as CageLauncher;
    let seeded = false;
    const said: Array<Record<string, unknown> | undefined> = [];
    await startSessionApps(launcher, [['firefox-esr'], ['libreoffice', '--writer']], (_msg, fields) => said.push(fields), sleep(50).then(() => void (seeded = true)));
    expect(calls).toEqual(['launch firefox-esr', 'launch libreoffice --writer']);
    expect(said[0]?.waitedMs).toBeGreaterThanOrEqual(40);
  });
});
