/**
 * A workstation for tests that act as a user does: a host X display with a real keyboard layout,
 * the shell's Chromium headful on it as `npm start` runs it, and real key and pointer events from
 * xdotool. Playwright reaches that Chromium over CDP, so a test can look at the page it typed into.
 *
 * The display server is TigerVNC's Xvnc, not Xvfb: Xvfb ignores keymap changes, so `setxkbmap fr`
 * there leaves a US keyboard and a test of French typing would test nothing.
 *
 *   const display = await startHostDisplay({ layout: 'fr' });           // :N, fr keymap
 *   const shell = await launchShellBrowser(display, { url, width: 1280, height: 800, deviceScaleFactor: 1 });
 *   await display.type('àé@');                  // xdotool type, through the display's keymap
 *   await display.key('dead_circumflex', 'e');  // keysym names, one press each: ê
 *   await display.click(100, 200);              // screen pixels (the window is at 0,0, no WM)
 *   const p = await shell.screenPoint(cssX, cssY);  // a page's CSS point in screen pixels
 *   await shell.close(); await display.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { hostShellLocale, shellChromiumArgs, writeShellChromiumProfile } from '../../scripts/shellChromium.mjs';
import { within } from './deadline';

export interface HostDisplayOptions {
  /** XKB layout, as setxkbmap takes it: 'fr', 'us', 'gb'… Default 'us'. */
  layout?: string;
  /** XKB variant: 'oss', 'bepo'… Default none. */
  variant?: string;
  /** The screen in pixels. Default 1920×1080. */
  width?: number;
  height?: number;
}

export interface HostDisplay {
  /** ':N' — give it to programs as DISPLAY. */
  display: string;
  /** The display's own temporary folder (Xvnc's log, its VNC socket). */
  dir: string;
  /** Sets the keymap, as a user's session does: setxkbmap LAYOUT [-variant VARIANT]. */
  setLayout(layout: string, variant?: string): Promise<void>;
  /** The keymap now in force, as `setxkbmap -query` reads it. */
  layout(): Promise<{ layout: string; variant: string }>;
  /** Types text as keystrokes through the display's keymap (xdotool type). */
  type(text: string, delayMs?: number): Promise<void>;
  /**
   * Presses and releases each key in turn (xdotool key): keysym names such as 'e',
   * 'dead_circumflex', 'ISO_Level3_Shift+e', 'ctrl+v'. The keymap in force decides which
   * keycode (and modifiers) each becomes, as a keyboard's keys would.
   */
  key(...keys: string[]): Promise<void>;
  /** Moves the pointer to screen pixels (x, y). */
  moveTo(x: number, y: number): Promise<void>;
  /** Moves there and clicks a button (1 left, 2 middle, 3 right). */
  click(x: number, y: number, button?: number): Promise<void>;
  /** Presses a button at (x, y), drags to (toX, toY), releases: a selection or a drag. */
  drag(x: number, y: number, toX: number, toY: number, button?: number): Promise<void>;
  /** Runs xdotool with these arguments on this display. */
  xdotool(...args: string[]): Promise<void>;
  /** Stops Xvnc and removes its folder. */
  stop(): Promise<void>;
}

/** Display numbers to pick from: far from :0 (a desktop's) and from the fixed ones tests use. */
const FIRST_DISPLAY = 300;
const DISPLAY_RANGE = 400;

function displayFree(n: number): boolean {
  return !existsSync(`/tmp/.X${n}-lock`) && !existsSync(`/tmp/.X11-unix/X${n}`);
}

/** Longest run of one X client (setxkbmap, xdotool, xdpyinfo): a display that stops answering fails the step that met it. */
const CLIENT_TIMEOUT_MS = 10_000;

/** Runs a program to its end; rejects with its stderr when it fails or outlives its time (then it is killed). */
function run(program: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = CLIENT_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} ${args.join(' ')}: no answer from ${env.DISPLAY} within ${timeoutMs / 1000} s: ${err.trim()}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${program} ${args.join(' ')}: exit ${code}: ${err.trim()}`));
    });
  });
}

/** Starts Xvnc on a free display of its own (no TCP, no VNC port) and sets its keymap. */
export async function startHostDisplay(options: HostDisplayOptions = {}): Promise<HostDisplay> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-hostx-'));
  const geometry = `${options.width ?? 1920}x${options.height ?? 1080}`;
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = FIRST_DISPLAY + Math.floor(Math.random() * DISPLAY_RANGE);
    if (!displayFree(n)) continue;
    const server = spawn('Xvnc', [`:${n}`, '-nolisten', 'tcp', '-rfbport', '-1', '-rfbunixpath', join(dir, 'vnc.sock'), '-SecurityTypes', 'None', '-geometry', geometry, '-depth', '24', '-AlwaysShared'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const up = await waitForDisplay(n, server, () => log).catch((err: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
    if (!up) {
      // Another display took this number meanwhile: try another.
      if (server.exitCode === null) server.kill('SIGKILL');
      continue;
    }
    const display = hostDisplay(`:${n}`, dir, server);
    try {
      await display.setLayout(options.layout ?? 'us', options.variant);
    } catch (err) {
      await display.stop();
      throw err;
    }
    return display;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('startHostDisplay: no free X display number found');
}

/**
 * Whether Xvnc answers on :n. False when it exited (another server has that number); an error
 * when it runs but does not answer within 15 s. xdpyinfo runs asynchronously, each try bounded:
 * a synchronous one that hangs would stop the test process's clock, its timeouts included.
 */
async function waitForDisplay(n: number, server: ChildProcess, log: () => string): Promise<boolean> {
  const env = { ...process.env, DISPLAY: `:${n}` };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) return false;
    const answered = await run('xdpyinfo', [], env, 3000).then(
      () => true,
      () => false,
    );
    if (answered) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (server.exitCode !== null || server.signalCode !== null) return false;
  server.kill('SIGKILL');
  throw new Error(`host display :${n}: Xvnc runs but did not answer within 15 s; its log: ${log().trim().slice(-2000)}`);
}

function hostDisplay(display: string, dir: string, server: ChildProcess): HostDisplay {
  const env = { ...process.env, DISPLAY: display };
  const xdotool = async (...args: string[]) => {
    await run('xdotool', args, env);
  };
  const pointer = async () => {
    const at = await run('xdotool', ['getmouselocation', '--shell'], env);
    return { x: Number(/^X=(\d+)/m.exec(at)?.[1]), y: Number(/^Y=(\d+)/m.exec(at)?.[1]) };
  };
  // `mousemove --sync` waits until the pointer has left where it was: on Xvnc a move to the point
  // it is already on waits for ever (a second click at the same place), so that one is not synced.
  const move = (x: number, y: number, from: { x: number; y: number }) => {
    const to = [String(Math.round(x)), String(Math.round(y))];
    return Math.round(x) === from.x && Math.round(y) === from.y ? ['mousemove', ...to] : ['mousemove', '--sync', ...to];
  };
  return {
    display,
    dir,
    async setLayout(layout, variant) {
      // -option '' first: options set earlier (another layout's) would otherwise stay.
      await run('setxkbmap', ['-option', '', '-layout', layout, '-variant', variant ?? ''], env);
    },
    async layout() {
      const out = await run('setxkbmap', ['-query'], env);
      const field = (name: string) => new RegExp(`^${name}:\\s*(\\S*)`, 'm').exec(out)?.[1] ?? '';
      return { layout: field('layout'), variant: field('variant') };
    },
    type: (text, delayMs = 12) => xdotool('type', '--delay', String(delayMs), '--', text),
    key: (...keys) => xdotool('key', '--delay', '12', '--', ...keys),
    moveTo: async (x, y) => xdotool(...move(x, y, await pointer())),
    click: async (x, y, button = 1) => xdotool(...move(x, y, await pointer()), 'click', String(button)),
    drag: async (x, y, toX, toY, button = 1) =>
      xdotool(...move(x, y, await pointer()), 'mousedown', String(button), ...move(toX, toY, { x: Math.round(x), y: Math.round(y) }), 'mouseup', String(button)),
    xdotool,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ShellBrowserOptions {
  /** The first address (the shell's launch address, or any page). */
  url: string;
  /** The window's size in screen pixels. Default 1280×800. */
  width?: number;
  height?: number;
  /** Chromium's --force-device-scale-factor. Default 1. */
  deviceScaleFactor?: number;
  /** --kiosk, as npm start -- --kiosk. */
  kiosk?: boolean;
  /** The account Chromium runs as, sandboxed (as npm start's SUDO_USER). Default cloison-shell-test (scripts/setup.sh makes it); null runs as the test's own user (root: no sandbox). */
  user?: string | null;
  /** LANG for Chromium. Default fr_FR.UTF-8. */
  lang?: string;
  /**
   * The page's languages (navigator.languages, Intl), e.g. 'fr-FR' or 'en-US': Debian's Chromium
   * without chromium-l10n speaks en-US whatever LANG says, so the shell would pick English. Set
   * through DevTools before the first page. Default 'fr-FR'; null leaves Chromium's own.
   */
  locale?: string | null;
}

export interface ShellBrowser {
  browser: Browser;
  /** The --app window's page. */
  page: Page;
  /** The screen pixel of a CSS point of the page (window origin + zoom). */
  screenPoint(cssX: number, cssY: number): Promise<{ x: number; y: number }>;
  /** Chromium's DevTools address, to connect again after `browser` was let go (a benchmark measuring with none attached). */
  devtools: string;
  close(): Promise<void>;
}

/** The account npm start's browser host runs Chromium as in tests (scripts/setup.sh makes it). */
export const SHELL_TEST_USER = 'cloison-shell-test';

/**
 * Chromium headful on the display, launched as scripts/start.mjs launches the browser host:
 * --app window on its waiting page (scripts/launchPage.mjs) sent on to `url`, its own profile,
 * background networking off, sandboxed as a non-root user —
 * plus a DevTools port on 127.0.0.1 for Playwright (connectOverCDP), a window at 0,0 of the given
 * size and a device scale factor. There is no window manager: the window is exactly where asked.
 */
export async function launchShellBrowser(display: HostDisplay, options: ShellBrowserOptions): Promise<ShellBrowser> {
  const width = options.width ?? 1280;
  const height = options.height ?? 800;
  const scale = options.deviceScaleFactor ?? 1;
  const userName = options.user === undefined ? SHELL_TEST_USER : options.user;
  const account = userName ? accountOf(userName) : null;
  const profile = mkdtempSync(join(tmpdir(), 'cloison-shell-'));
  if (account) chownSync(profile, account.uid, account.gid);
  // As start.mjs: Chromium opens a waiting page (a file only its user reads), sent on to the address.
  const launch = createLaunchPage(profile, account, !options.url.startsWith('data:'));
  const locale = hostShellLocale({ LANG: options.lang ?? 'fr_FR.UTF-8' });
  writeShellChromiumProfile(profile, { locale, owner: account });
  const args = [
    `--app=file://${launch.path}`,
    `--user-data-dir=${profile}`,
    ...shellChromiumArgs({ locale }),
    ...(options.kiosk ? ['--kiosk'] : []),
    // The test's own: a place and size, a scale, and the door Playwright comes in by.
    '--window-position=0,0', `--window-size=${width},${height}`, `--force-device-scale-factor=${scale}`,
    '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    // No GPU on these machines; the password store would ask for a keyring.
    '--disable-gpu', '--password-store=basic',
    ...(account ? [] : process.getuid?.() === 0 ? ['--no-sandbox'] : []),
  ];
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', DISPLAY: display.display, LANG: options.lang ?? 'fr_FR.UTF-8', HOME: account?.home ?? process.env.HOME ?? tmpdir() };
  if (account) Object.assign(env, { USER: account.name, LOGNAME: account.name });
  const argv = account ? ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--inh-caps=-all', '--', '/usr/bin/chromium', ...args] : ['/usr/bin/chromium', ...args];
  // A process group of its own: its zygote, renderers and crash handler are stopped with it.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env, detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async () => {
    if (child.pid !== undefined && groupAlive()) {
      process.kill(-child.pid, 'SIGTERM');
      for (const deadline = Date.now() + 5000; groupAlive() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      if (groupAlive()) process.kill(-child.pid, 'SIGKILL');
      for (const deadline = Date.now() + 2000; groupAlive() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    }
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
  try {
    // Chromium writes its DevTools port in the profile once it listens.
    const portFile = join(profile, 'DevToolsActivePort');
    const deadline = Date.now() + 30_000;
    while (!existsSync(portFile) || !readFileSync(portFile, 'utf8').includes('\n')) {
      if (child.exitCode !== null) throw new Error(`shell Chromium exited (${child.exitCode}) before opening its DevTools port: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`shell Chromium: no DevTools port within 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = readFileSync(portFile, 'utf8').split('\n')[0]!;
    // Each step bounded, and named when it fails: none of them has a timeout of its own here
    // (Playwright's test runner leaves these calls unbounded, up to the whole hook's time).
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`, { timeout: 15_000 }).catch((err: Error) => {
      throw new Error(`shell Chromium: DevTools connection on port ${port} failed: ${err.message}\n${stderr}`);
    });
    const context = browser.contexts()[0]!;
    const page =
      context.pages().find((p) => !p.url().startsWith('devtools:')) ??
      (await context.waitForEvent('page', { timeout: 10_000 }).catch((err: Error) => {
        throw new Error(`shell Chromium: no --app window within 10 s: ${err.message}`);
      }));
    const locale = options.locale === undefined ? 'fr-FR' : options.locale;
    if (locale) {
      await within(`shell Chromium: locale ${locale} set through DevTools`, 10_000, async () => {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Emulation.setLocaleOverride', { locale });
        // From the browser, not the page: the waiting page reloads itself under any evaluate.
        const { userAgent } = await (await browser.newBrowserCDPSession()).send('Browser.getVersion');
        await cdp.send('Network.setUserAgentOverride', { userAgent, acceptLanguage: locale });
      });
    }
    // Chromium refuses a redirect to a data: address (a test's plain page): that one is gone to.
    if (options.url.startsWith('data:')) await page.goto(options.url, { timeout: 30_000 });
    else {
      launch.go(options.url);
      await page.waitForURL((u) => u.protocol !== 'file:', { waitUntil: 'commit', timeout: 40_000 }).catch((err: Error) => {
        const shown = (() => {
          try {
            return readFileSync(launch.path, 'utf8');
          } catch (e) {
            return String(e);
          }
        })();
        throw new Error(`shell Chromium: the waiting page (${page.url()}) did not go on to the shell's address within 40 s: ${err.message}\nits file: ${shown}\n${stderr}`);
      });
    }
    return {
      browser,
      page,
      devtools: `http://127.0.0.1:${port}`,
      async screenPoint(cssX, cssY) {
        // No window manager and --app (no toolbar): the page starts at the window's origin, unless
        // the window has a frame Chromium draws itself (outer minus inner).
        const o = await page.evaluate(() => ({ x: window.screenX, y: window.screenY, top: window.outerHeight - window.innerHeight, left: window.outerWidth - window.innerWidth }));
        return { x: Math.round((o.x + o.left / 2 + cssX) * scale), y: Math.round((o.y + o.top + cssY) * scale) };
      },
      async close() {
        await browser.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * start.mjs's waiting page (scripts/launchPage.mjs, which e2e code may not import): a file that
 * reloads itself until `go` turns it into a redirect to the shell's address.
 */
function createLaunchPage(dir: string, owner: { uid: number; gid: number } | null, waiting: boolean): { path: string; go(url: string): void } {
  const path = join(dir, 'launch.html');
  const write = (html: string) => {
    const next = join(dir, 'launch.next');
    writeFileSync(next, html, { mode: 0o600 });
    if (owner) chownSync(next, owner.uid, owner.gid);
    renameSync(next, path);
  };
  // As launchPage.mjs: a script looks again should Chromium drop a meta refresh.
  const again = (js: string) => `<script>setTimeout(() => ${js}, 1000)</script>`;
  write(`<!doctype html><meta charset="utf-8">${waiting ? `<meta http-equiv="refresh" content="0.2">${again('location.reload()')}` : ''}<title>Cloison</title>\n`);
  return { path, go: (url) => write(`<!doctype html><meta http-equiv="refresh" content="0;url=${url}"><title>Cloison</title>${again(`location.replace(${JSON.stringify(url).replace(/</g, '\\u003c')})`)}\n`) };
}

function accountOf(name: string): { name: string; uid: number; gid: number; home: string } {
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':');
  if (entry.length < 7) throw new Error(`no account named ${name} (scripts/setup.sh makes ${SHELL_TEST_USER})`);
  return { name, uid: Number(entry[2]), gid: Number(entry[3]), home: entry[5]! };
}

/**
 * Locks the shell and asks for its unlock prompt as a user does on the host display, and returns the
 * layout badge beside its password field. Works on its own too (a fresh shell the host display has
 * not given the keyboard yet): the shell up, then clicked where a click does nothing (the band's
 * layout mark), as a user's first click gives its window the keyboard; then Super+L locks and the
 * secure-attention key opens the prompt, both as the keyboard sends them.
 */
export async function lockAndShowUnlockBadge(shell: ShellBrowser, display: HostDisplay): Promise<Locator> {
  const { page } = shell;
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected', { timeout: 60_000 });
  const mark = (await page.getByTestId('band-keyboard-layout').boundingBox())!;
  const onMark = await shell.screenPoint(mark.x + mark.width / 2, mark.y + mark.height / 2);
  await display.click(onMark.x, onMark.y);
  await display.key('super+l');
  await expect(page.getByTestId('lock-screen')).toBeVisible();
  await display.key('Pause');
  const badge = page.getByTestId('unlock-keyboard-layout');
  await expect(badge).toBeVisible();
  return badge;
}

/**
 * Clicks the centre of `level`'s viewer and types a line until the cage's terminal has it (its
 * `cat > typed.txt` in `home`, the cage's home): the terminal may still be starting (30 s rather
 * than a few tries: an xterm starting in a cage on a machine 3-5x slower). Returns what the cage
 * has received so far, read again at each call.
 */
export async function typeUntilCageReads(shell: ShellBrowser, display: HostDisplay, level: string, home: string): Promise<() => Buffer> {
  const box = (await shell.page.getByTestId(`viewer-${level}`).boundingBox())!;
  const centre = await shell.screenPoint(box.x + box.width / 2, box.y + box.height / 2);
  const typed = join(home, 'typed.txt');
  const received = () => (existsSync(typed) ? readFileSync(typed) : Buffer.alloc(0));
  for (const deadline = Date.now() + 30_000; !received().includes('ready\n'); ) {
    expect(Date.now(), 'the cage terminal never took a line within 30 s').toBeLessThan(deadline);
    await display.click(centre.x, centre.y);
    await display.type('ready\n');
    await shell.page.waitForTimeout(500);
  }
  return received;
}
