/**
 * One Cloison session for the application benchmarks: `npm start -- --no-window` (the supervisor,
 * its cages and their autostarted applications) and the shell in Chromium with npm start's own
 * flags, headful when there is a display (run under xvfb-run), opened at once on start.mjs's
 * waiting page as npm start opens it. The benchmark drives that Chromium to read what the viewers show.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lchownSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from '@playwright/test';
import { createLaunchPage } from '../../scripts/launchPage.mjs';
import { shellChromiumArgs } from '../../scripts/shellChromium.mjs';
import { DEFAULT_POLICY_YAML } from '../../supervisor/policy/defaultPolicy';
import { account } from '../../supervisor/system/accounts';

/**
 * Which supervisor `npm start` starts: the root one, or (`npm start -- --split`, #29) the root cage
 * manager with the supervisor as its `cloison` part. BENCH_SPLIT=1 makes every session split; a
 * benchmark comparing both sets it run by run (useSplitSupervisor).
 */
let split = process.env.BENCH_SPLIT === '1';
export function useSplitSupervisor(on: boolean): void {
  split = on;
}

/**
 * npm start's own mode for the benchmarks that measure npm start (apps-start, its profile): the
 * split unless BENCH_SPLIT=0 (`--single`, the root supervisor alone). Returns whether it is split.
 */
export function useNpmStartMode(): boolean {
  split = process.env.BENCH_SPLIT !== '0';
  return split;
}

/**
 * The supervisor's own state folder: `s`, or split the part's (`s-broker`, the manager's `s` beside
 * it holding the cages' homes), which the part reads as the `cloison` account.
 */
function supervisorStateDir(root: string, splitStart = split): string {
  return join(root, splitStart ? 's-broker' : 's');
}

/** The supervisor's state folder of a start, split or not, under `root` (npm start's --state-dir `root`/s). */
export const supervisorStateDirOf = (root: string, splitStart: boolean): string => supervisorStateDir(root, splitStart);

/** Writes a file of the supervisor's state before its start: split, the `cloison` account's (the part reads it). */
export function writeSupervisorState(root: string, name: string, text: string, splitStart = split): void {
  const dir = supervisorStateDir(root, splitStart);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  if (!splitStart) return;
  const cloison = account('cloison');
  if (!cloison) throw new Error('no cloison account (scripts/setup.sh makes it): the split supervisor cannot start');
  // lchown: nothing planted at these names is followed (the manager takes the folder over itself).
  lchownSync(dir, cloison.uid, cloison.gid);
  lchownSync(file, cloison.uid, cloison.gid);
}

/**
 * The default policy, its applications and their autostart unchanged, with 256 MiB homes: homes
 * are reserved whole (8 GiB each by default) and the benchmark's machine is shared.
 */
export function benchPolicy(dir: string, extraApps: { low?: string[] } = {}): string {
  let yaml = DEFAULT_POLICY_YAML.replaceAll('      geometry: auto\n', '      geometry: auto\n      limits: { homeBytes: 256MiB }\n');
  // BENCH_CAGE_UIDS=LOW,HIGH: the cages' uids (two benchmarks of the default policy at once would share its own).
  const uids = (process.env.BENCH_CAGE_UIDS ?? '').split(',').filter(Boolean);
  if (uids.length === 2) for (const [i, id] of ['low', 'high'].entries()) yaml = yaml.replace(new RegExp(`(  - id: ${id}\n(?:.*\n)*?    cage:\n)`), `$1      uid: ${Number(uids[i])}\n`);
  for (const line of extraApps.low ?? []) yaml = yaml.replace('        - { id: pdf, exec: [mupdf-gl], desktop: mupdf }\n', `        - { id: pdf, exec: [mupdf-gl], desktop: mupdf }\n        ${line}\n`);
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, yaml);
  return path;
}

/**
 * npm start's flags for the shell's Chromium; to weigh a flag before it goes into shellChromium.mjs,
 * BENCH_SHELL_FLAGS adds flags and BENCH_SHELL_DISABLE_FEATURES adds features to its one
 * --disable-features list (Chromium reads only the last such flag).
 */
function benchShellArgs(): string[] {
  const more = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean);
  const features = more('BENCH_SHELL_DISABLE_FEATURES');
  const args = shellChromiumArgs({ locale: 'fr' }).map((a) => (a.startsWith('--disable-features=') && features.length ? `${a},${features.join(',')}` : a));
  return [...args, ...more('BENCH_SHELL_FLAGS')];
}

/**
 * The cages' screen as the shell's frame makes it at the benchmarks' 1280x800 window (its band and
 * borders taken): what a first start leaves remembered in the state folder (supervisor/screen/
 * cageScreens.ts) for the next. `startAgainFor` checks, after a start, that it still is.
 */
export const REMEMBERED_SCREEN = { width: 1268, height: 718 };

/**
 * `BENCH_START=again`: a start as every start after the workstation's first is, its state folder
 * holding the screen size the last one applied (the homes are new all the same, see appsStart.bench.ts).
 */
export const startAgain = process.env.BENCH_START === 'again';

/** After a start: the size the supervisor ended with, when it differs from REMEMBERED_SCREEN (the seed is stale). */
export function staleRememberedScreen(root: string): string | null {
  try {
    const sizes = JSON.parse(readFileSync(join(supervisorStateDir(root), 'screens.json'), 'utf8')) as Record<string, { width: number; height: number }>;
    const off = Object.entries(sizes).filter(([, s]) => s.width !== REMEMBERED_SCREEN.width || s.height !== REMEMBERED_SCREEN.height);
    return off.length ? off.map(([l, s]) => `${l} ${s.width}x${s.height}`).join(', ') : null;
  } catch {
    return null; // no resize was applied: the seed was right
  }
}

export interface ShellSession {
  t0: number;
  start: ChildProcess;
  browser: Browser;
  page: Page;
  /** The command-line marker of the shell's Chromium (to find its processes). */
  marker: string;
  /** Milliseconds from t0 to the supervisor's "the shell is at". */
  listeningMs: number;
  close(): Promise<void>;
}

/**
 * A shell session whose Chromium runs on its own, as npm start runs it, the benchmark connected to
 * it only while it sets up or reads: Playwright's connection enables DevTools' Network domain on
 * every frame, which then copies each WebSocket message of the viewers (base64, through the browser
 * process to the benchmark) — work npm start's shell never does, measured as the shell's before.
 */
export interface DetachableShellSession extends ShellSession {
  /** Lets go of the browser (nothing of DevTools stays attached); `page` and `browser` are stale until attach. */
  detach(): Promise<void>;
  /** Connects again: `page` and `browser` are the shell's window again. */
  attach(): Promise<void>;
  /** Closes the shell's window (its Chromium ends), the supervisor and its cages left running. */
  closeWindow(): Promise<void>;
}

/** `supervisorLog`: a file the supervisor's log goes to, at level info (for a profile of the start). */
export async function openShellSession(root: string, policy: string, viewport?: { width: number; height: number }, supervisorLog?: string): Promise<ShellSession>;
export async function openShellSession(root: string, policy: string, viewport: { width: number; height: number } | undefined, supervisorLog: string | undefined, detachable: true): Promise<DetachableShellSession>;
export async function openShellSession(root: string, policy: string, viewport = { width: 1280, height: 800 }, supervisorLog?: string, detachable = false): Promise<ShellSession | DetachableShellSession> {
  // The user's trust phrase is chosen (as after their first start): its dialog would cover the band.
  writeSupervisorState(root, 'trust-phrase.json', JSON.stringify({ phrase: 'Le héron pêche à l’aube', symbol: '◆' }));
  if (startAgain) writeSupervisorState(root, 'screens.json', JSON.stringify({ low: REMEMBERED_SCREEN, high: REMEMBERED_SCREEN }));
  // Split, the cage manager starts the cages at the size it last set, from its own folder (cageManager/managerScreens.ts).
  if (startAgain && split) {
    mkdirSync(join(root, 's'), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, 's', 'cage-screens.json'), JSON.stringify({ low: REMEMBERED_SCREEN, high: REMEMBERED_SCREEN }), { mode: 0o600 });
  }
  const t0 = Date.now();
  // BENCH_START_PREFIX: a program npm start runs under (`strace -f -qq -e trace=execve -o FILE`: what a start executes).
  const prefix = (process.env.BENCH_START_PREFIX ?? '').split(' ').filter(Boolean);
  const start = spawn(prefix[0] ?? process.execPath, [...(prefix.length ? [...prefix.slice(1), process.execPath] : []), 'scripts/start.mjs', '--no-window', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r'), ...(split ? ['--split'] : ['--single'])], {
    stdio: ['ignore', 'pipe', supervisorLog ? openSync(supervisorLog, 'w') : 'ignore'],
    ...(supervisorLog ? { env: { ...process.env, CLOISON_LOG_LEVEL: 'info' } } : {}),
  });
  const marker = `--cloison-bench-${process.pid}-${t0}`;
  const launch = createLaunchPage(root);
  const launching: Promise<{ browser: Browser; page: Page; process?: ChildProcess; connect?: () => Promise<{ browser: Browser; page: Page }> }> = detachable
    ? launchDetachable(root, launch.path, viewport, marker)
    : chromium
    .launch({ executablePath: '/usr/bin/chromium', headless: !process.env.DISPLAY, args: ['--no-sandbox', '--no-first-run', ...benchShellArgs(), marker] })
    .then(async (b) => {
      const page = await b.newPage({ viewport });
      await page.goto(pathToFileURL(launch.path).href, { waitUntil: 'commit' });
      return { browser: b, page };
    });
  const exited = new Promise((r) => start.once('exit', r));
  const url = await Promise.race([
    new Promise<string>((resolve) =>
      createInterface({ input: start.stdout! }).on('line', (l) => {
        const m = /the shell is at (\S+)/.exec(l);
        if (m) resolve(m[1]!);
      }),
    ),
    exited.then(() => Promise.reject(new Error('npm start ended before the shell listened'))),
  ]);
  const listeningMs = Date.now() - t0;
  launch.go(url);
  const { browser, page, process: own, connect } = await launching;
  const session: DetachableShellSession = {
    t0,
    start,
    browser,
    page,
    marker,
    listeningMs,
    async detach() {
      await session.browser.close(); // a browser reached over CDP: this only disconnects
    },
    async attach() {
      Object.assign(session, await connect!());
    },
    async closeWindow() {
      await session.browser.close().catch(() => undefined);
      if (own && own.exitCode === null && own.signalCode === null) {
        own.kill('SIGTERM');
        await new Promise((r) => own.once('exit', r));
      }
    },
    async close() {
      await session.closeWindow();
      if (start.exitCode === null) start.kill('SIGINT');
      await exited;
    },
  };
  return session;
}

/** Chromium with npm start's flags on the launch page, a DevTools port for `connect`. */
async function launchDetachable(root: string, launchPath: string, viewport: { width: number; height: number }, marker: string): Promise<{ browser: Browser; page: Page; process: ChildProcess; connect: () => Promise<{ browser: Browser; page: Page }> }> {
  const profile = join(root, 'chromium-profile');
  mkdirSync(profile, { recursive: true });
  const own = spawn('/usr/bin/chromium', [`--app=${pathToFileURL(launchPath).href}`, `--user-data-dir=${profile}`, '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--window-size=${viewport.width},${viewport.height}`, '--window-position=0,0', '--remote-debugging-port=0', ...(process.env.DISPLAY ? [] : ['--headless']), ...benchShellArgs(), marker], { stdio: 'ignore' });
  const portFile = join(profile, 'DevToolsActivePort');
  for (let i = 0; !existsSync(portFile) || !readFileSync(portFile, 'utf8').includes('\n'); i++) {
    if (own.exitCode !== null || i > 300) throw new Error("the shell's Chromium did not open its DevTools port");
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = readFileSync(portFile, 'utf8').split('\n')[0]!;
  const connect = async () => {
    const b = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
    for (let i = 0; ; i++) {
      const page = b.contexts().flatMap((c) => c.pages())[0];
      if (page) return { browser: b, page };
      if (i > 100) throw new Error("the shell's window was not found");
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { ...(await connect()), process: own, connect };
}

/** A level's X socket folder on the host while its cage runs (the shell session's run folder). */
export function cageX11Dir(root: string, level: string): string {
  return join(root, 'r', 'cages', level, 'scratch', 'x11');
}

/** Writes what a level's viewer shows (its canvas, shown or not) to `path` as PNG; the path, or null without a canvas. */
export async function saveViewerCanvas(page: Page, level: string, path: string): Promise<string | null> {
  try {
    const frame = await (await page.$(`[data-testid=viewer-frame-${level}]`))?.contentFrame();
    const url = await frame?.evaluate(() => [...document.querySelectorAll<HTMLCanvasElement>('#screen canvas')].find((c) => c.isConnected && c.width > 0)?.toDataURL('image/png') ?? null);
    if (!url) return null;
    writeFileSync(path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    return path;
  } catch {
    return null;
  }
}
